//! `clea run`: start the actors a launch file names (with a `controller:` section, run
//! episodes), or, for a robot launch file (`robot:`), bridge that robot's ROS 2 graph.

use crate::error::CliError;
use crate::launchfile::{self, OnOffWord};
use crate::robotfile::{self, RobotLaunch};
use crate::table;
use clap::Args;
use clea_agent::actors::ActorSet;
use clea_agent::controller::ControllerConfig;
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_agent::report::SuiteReport;
use clea_bus::record::{Recorder, RecorderOptions};
use clea_bus::Bus;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Start the actors a launch file names, joined to other processes over zenoh, or a robot's
/// ROS 2 adapter.
///
/// With a `controller:` section, runs its episodes against the simulator's episode service
/// (`clea sim --serve`) and prints the table; without one, serves the actors until Ctrl-C.
/// A robot launch file (top-level `robot:`, e.g. launch/files/mobile-manipulator.yaml) starts
/// the ROS 2 adapter of that robot (needs a `clea` built with the `ros2` feature) until Ctrl-C,
/// which cancels the robot's active ROS 2 goals before exiting.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Launch file (YAML), e.g. launch/files/sim-kitchen.yaml or
    /// launch/files/mobile-manipulator.yaml.
    pub launch_file: PathBuf,
    /// Check the launch file (fields, bus, robot against its world, models) and exit: prints
    /// one line saying what would run, or the first problem (exit 2).
    #[arg(long)]
    pub check: bool,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run `clea run`.
pub async fn run(args: RunArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.launch_file)
        .map_err(|e| CliError::Input(format!("{}: file: {e}", args.launch_file.display())))?;
    if robotfile::is_robot_file(&text) {
        let robot = robotfile::load(&args.launch_file, &text).map_err(CliError::Input)?;
        if args.check {
            let types = check_types(&args.launch_file, &robot)?;
            println!(
                "ok: {}: {}{types}",
                args.launch_file.display(),
                robot.summary()
            );
            return Ok(());
        }
        return run_robot(&args.launch_file, robot).await;
    }
    let lf = launchfile::load(&args.launch_file).map_err(CliError::Input)?;
    if args.check {
        let names: Vec<&str> = lf.actors.iter().map(|a| a.as_str()).collect();
        println!(
            "ok: {}: actors [{}] on clea/{}/{}",
            args.launch_file.display(),
            names.join(", "),
            lf.bus.namespace,
            lf.controller.as_ref().map_or(String::new(), |c| format!(
                ", controller: {} episode(s)",
                c.episodes
            ))
        );
        return Ok(());
    }
    let bus = Bus::open(&lf.bus).await?;
    let skill_timeout = Duration::from_secs_f64(lf.agent.skill_timeout_s);
    let _actors = ActorSet::build(
        &bus,
        &lf.actors,
        &lf.models,
        lf.agent.history,
        skill_timeout,
    )
    .await
    .map_err(|e| CliError::Input(format!("{}: models: {e}", args.launch_file.display())))?;
    let Some(c) = &lf.controller else {
        eprintln!(
            "clea: running actors [{}] on clea/{}/; Ctrl-C stops",
            lf.actors
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            lf.bus.namespace
        );
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| CliError::Runtime(e.into()))?;
        return Ok(());
    };
    wait_for_robots(&bus, Duration::from_secs_f64(lf.agent.wait_for_robots_s)).await?;
    let opts = EpisodeOptions {
        seed: c.seed,
        controller: ControllerConfig {
            critic: c.critic == OnOffWord::On,
            open_loop: c.open_loop,
            limits: lf.agent.limits,
        },
        module_timeout: Duration::from_secs_f64(lf.agent.module_timeout_s),
        skill_timeout,
        max_model_calls: lf.agent.max_model_calls,
        max_model_tokens: lf.agent.max_model_tokens,
        max_wall_time: lf.agent.max_wall_time_s.map(Duration::from_secs_f64),
        ..Default::default()
    };
    let mut episodes = Vec::new();
    let mut failure = None;
    for i in 0..c.episodes {
        if clea_agent::episode::interrupted() {
            break;
        }
        let recorder = match &c.log_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", dir.display())))?;
                let path = clea_bus::record::unused_path(dir, &format!("episode-{i}.part"));
                let metadata = BTreeMap::from([
                    (
                        "launch_file".to_string(),
                        args.launch_file.display().to_string(),
                    ),
                    (
                        "critic".to_string(),
                        format!("{:?}", c.critic).to_lowercase(),
                    ),
                    ("open_loop".to_string(), c.open_loop.to_string()),
                    (
                        "clea_version".to_string(),
                        env!("CARGO_PKG_VERSION").to_string(),
                    ),
                ]);
                let opts = RecorderOptions {
                    metadata,
                    ..Default::default()
                };
                let r = Recorder::start(&bus, &path, opts)
                    .await
                    .map_err(|e| CliError::Runtime(e.into()))?;
                Some((r, path, dir.clone()))
            }
            None => None,
        };
        let mut result = run_episode(&bus, &opts).await;
        if let Some((r, part, dir)) = recorder {
            // Close the log whatever happened: it is what explains a failed episode.
            r.finish().await.map_err(|e| CliError::Runtime(e.into()))?;
            // Name the log after the scenario and seed, known once the episode started.
            let stem = match &result {
                Ok(rep) => format!("{}-seed{}", rep.scenario, rep.seed),
                Err(_) => format!("episode-{i}-not-started"),
            };
            let done = clea_bus::record::unused_path(&dir, &stem);
            // The sensor log (camera frames from a robot) goes with it.
            clea_bus::record::rename_log(&part, &done).map_err(|e| CliError::Runtime(e.into()))?;
            if let Ok(rep) = &mut result {
                rep.log = Some(done.display().to_string());
            }
        }
        match result {
            Ok(rep) => episodes.push(rep),
            Err(e) => {
                // The episodes that ran keep their rows: print them, then fail with the reason.
                failure = Some(e);
                break;
            }
        }
    }
    let report = SuiteReport::new(episodes);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?
        );
    } else {
        print!("{}", table::render(&report));
    }
    if let Some(e) = failure {
        return Err(CliError::from(e));
    }
    if clea_agent::episode::interrupted() {
        return Err(CliError::Interrupted);
    }
    Ok(())
}

/// Wait until at least one skill server announced itself.
async fn wait_for_robots(bus: &Bus, timeout: Duration) -> Result<(), CliError> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        let replies = bus
            .session
            .liveliness()
            .get(bus.keys.any_skill_server())
            .timeout(Duration::from_millis(500))
            .await
            .map_err(|e| CliError::Runtime(anyhow::anyhow!("liveliness query: {e}")))?;
        if replies.recv_async().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(CliError::Runtime(anyhow::anyhow!(
        "no robot skill server appeared on clea/{}/ within {:.0} s (is `clea sim --serve` running and reachable?)",
        bus.keys.namespace(),
        timeout.as_secs_f64()
    )))
}

/// With ROS 2: check that the install has every interface type the robot file names.
#[cfg(feature = "ros2")]
fn check_types(path: &std::path::Path, robot: &RobotLaunch) -> Result<&'static str, CliError> {
    use clea_skills::ros2::{check_interfaces, AdapterError};
    match check_interfaces(&robot.file.robot) {
        Ok(()) => Ok("; every interface type is in the ROS 2 install"),
        Err(AdapterError::Config(c)) => {
            Err(CliError::Input(format!("{}: robot: {c}", path.display())))
        }
        Err(e) => Err(CliError::Runtime(e.into())),
    }
}

/// Without ROS 2 the interface types cannot be looked up; the check says so.
#[cfg(not(feature = "ros2"))]
fn check_types(_path: &std::path::Path, _robot: &RobotLaunch) -> Result<&'static str, CliError> {
    Ok("; interface types not checked (this clea has no ROS 2)")
}

/// Bridge a robot's ROS 2 graph until Ctrl-C / SIGTERM.
#[cfg(feature = "ros2")]
async fn run_robot(path: &std::path::Path, robot: RobotLaunch) -> Result<(), CliError> {
    use clea_skills::ros2::{AdapterError, Ros2Adapter};
    let bus = Bus::open(&robot.file.bus).await?;
    let summary = robot.summary();
    let adapter = Ros2Adapter::start(&bus, robot.file.robot)
        .await
        .map_err(|e| match e {
            // A type the ROS 2 install lacks is the launch file's problem.
            AdapterError::Config(c) => CliError::Input(format!("{}: robot: {c}", path.display())),
            e => CliError::Runtime(e.into()),
        })?;
    eprintln!("clea: bridging {summary}; Ctrl-C stops");
    while !clea_agent::episode::interrupted() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let canceled = adapter.shutdown().await;
    eprintln!("clea: adapter stopped ({canceled} active ROS 2 goal(s) canceled)");
    Ok(())
}

/// Without ROS 2 support the file is checked, then refused with how to get a build that has it.
#[cfg(not(feature = "ros2"))]
async fn run_robot(_path: &std::path::Path, robot: RobotLaunch) -> Result<(), CliError> {
    Err(CliError::Runtime(anyhow::anyhow!(
        "this clea was built without ROS 2 support, so it cannot bridge robot {} (the launch \
         file checks): build it with `make build-ros2` (or `source .venv-ros2/env.sh && cargo \
         build -p clea-launch --features ros2`)",
        robot.file.robot.name
    )))
}
