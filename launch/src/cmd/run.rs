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
use clea_agent::report::{EpisodeReport, SuiteReport};
use clea_bus::record::{Recorder, RecorderOptions};
use clea_bus::{Bus, Keys};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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
    let perception = lf
        .perception
        .as_ref()
        .map(|p| format!(", {}", crate::perception::summary(p)))
        .unwrap_or_default();
    let teams = lf.agent_namespaces();
    let on = teams
        .iter()
        .map(|t| format!("clea/{t}/"))
        .collect::<Vec<_>>()
        .join(", ");
    let names = lf
        .actors
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if args.check {
        println!(
            "ok: {}: actors [{names}] on {on}{perception}{}",
            args.launch_file.display(),
            lf.controller.as_ref().map_or(String::new(), |c| format!(
                ", controller: {} episode(s){}",
                c.episodes,
                if teams.len() > 1 { " per team" } else { "" }
            ))
        );
        return Ok(());
    }
    // A controller gives up on a router that is not there as it gives up on absent robots.
    let limit = lf
        .controller
        .as_ref()
        .map(|_| Duration::from_secs_f64(lf.agent.wait_for_robots_s));
    let bus = super::join_bus(&lf.bus, limit).await?;
    // Perception first: the observer's first observation may already come from it.
    let _perception = match &lf.perception {
        Some(p) => Some(crate::perception::start(&bus, &args.launch_file, p).await?),
        None => None,
    };
    // One agent per team, all on this process's one session.
    let mut agents = Vec::new();
    for team in &teams {
        let bus = Bus {
            session: bus.session.clone(),
            keys: Keys::new(team)?,
        };
        let actors = ActorSet::build(
            &bus,
            &lf.actors,
            &lf.models,
            lf.agent.history,
            Duration::from_secs_f64(lf.agent.skill_timeout_s),
        )
        .await
        .map_err(|e| CliError::Input(format!("{}: models: {e}", args.launch_file.display())))?;
        agents.push((bus, actors));
    }
    let Some(c) = &lf.controller else {
        eprintln!("clea: running actors [{names}] on {on}{perception}; Ctrl-C stops");
        // Ctrl-C or SIGTERM (the binary's handler turns both into the interrupt).
        clea_agent::episode::wait_for_interrupt().await;
        return Ok(());
    };
    // The teams' episodes run at once; each team's run stops at its first failure.
    let runs = agents.iter().map(|(bus, _)| {
        let log_dir = c.log_dir.as_ref().map(|d| {
            if lf.teams.is_none() {
                d.clone()
            } else {
                d.join(bus.keys.namespace())
            }
        });
        run_team(bus, &lf, c, &args.launch_file, log_dir)
    });
    let mut episodes = Vec::new();
    let mut failures = Vec::new();
    for (team, (reports, error)) in teams.iter().zip(futures::future::join_all(runs).await) {
        episodes.extend(reports);
        failures.extend(error.map(|e| (team, e)));
    }
    let report = SuiteReport::new(episodes);
    table::print(&report, args.json)?;
    if lf.teams.is_none() {
        if let Some((_, e)) = failures.pop() {
            return Err(e);
        }
    } else if !failures.is_empty() {
        // Every failed team's reason, one line each; the exit names how many.
        for (team, e) in &failures {
            eprintln!("clea: team {team}: {e}");
        }
        return Err(CliError::Runtime(anyhow::anyhow!(
            "{} of {} teams stopped before their episodes were done (reasons above)",
            failures.len(),
            teams.len()
        )));
    }
    if clea_agent::episode::interrupted() {
        return Err(CliError::Interrupted);
    }
    Ok(())
}

/// Run one team's `controller.episodes` episodes on `bus`, one after the other, logging each
/// into `log_dir`; returns the reports of the episodes that ran and, if one could not, why.
async fn run_team(
    bus: &Bus,
    lf: &launchfile::LaunchFile,
    c: &launchfile::ControllerSection,
    launch_file: &std::path::Path,
    log_dir: Option<PathBuf>,
) -> (Vec<EpisodeReport>, Option<CliError>) {
    let mut episodes = Vec::new();
    if let Err(e) = wait_for_robots(bus, Duration::from_secs_f64(lf.agent.wait_for_robots_s)).await
    {
        return (episodes, Some(e));
    }
    let opts = EpisodeOptions {
        seed: c.seed,
        controller: ControllerConfig {
            critic: c.critic == OnOffWord::On,
            open_loop: c.open_loop,
            limits: lf.agent.limits,
        },
        module_timeout: Duration::from_secs_f64(lf.agent.module_timeout_s),
        skill_timeout: Duration::from_secs_f64(lf.agent.skill_timeout_s),
        max_model_calls: lf.agent.max_model_calls,
        max_model_tokens: lf.agent.max_model_tokens,
        max_wall_time: lf.agent.max_wall_time_s.map(Duration::from_secs_f64),
        ..Default::default()
    };
    for i in 0..c.episodes {
        if clea_agent::episode::interrupted() {
            break;
        }
        match run_logged(bus, &opts, c, launch_file, log_dir.as_deref(), i).await {
            Ok(mut rep) => {
                if lf.teams.is_some() {
                    rep.team = Some(bus.keys.namespace().to_string());
                }
                episodes.push(rep);
            }
            // The episodes that ran keep their rows; the caller prints them, then the reason.
            Err(e) => return (episodes, Some(e)),
        }
    }
    (episodes, None)
}

/// Run episode `i` of a team, recording it into `log_dir` (named after its scenario and seed
/// once they are known) if given.
async fn run_logged(
    bus: &Bus,
    opts: &EpisodeOptions,
    c: &launchfile::ControllerSection,
    launch_file: &std::path::Path,
    log_dir: Option<&std::path::Path>,
    i: u32,
) -> Result<EpisodeReport, CliError> {
    let Some(dir) = log_dir else {
        return Ok(run_episode(bus, opts).await?);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", dir.display())))?;
    let part = clea_bus::record::unused_path(dir, &format!("episode-{i}.part"));
    let metadata = BTreeMap::from([
        ("launch_file".to_string(), launch_file.display().to_string()),
        ("namespace".to_string(), bus.keys.namespace().to_string()),
        (
            "critic".to_string(),
            format!("{:?}", c.critic).to_lowercase(),
        ),
        ("open_loop".to_string(), c.open_loop.to_string()),
        (
            "clea_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        // The settings as resolved (file and defaults), as `clea sim` records them.
        (
            "skill_timeout_s".to_string(),
            opts.skill_timeout.as_secs_f64().to_string(),
        ),
        (
            "module_timeout_s".to_string(),
            opts.module_timeout.as_secs_f64().to_string(),
        ),
        (
            "limits".to_string(),
            serde_json::to_string(&opts.controller.limits).map_err(anyhow::Error::from)?,
        ),
    ]);
    let rec_opts = RecorderOptions {
        metadata,
        ..Default::default()
    };
    let r = Recorder::start(bus, &part, rec_opts)
        .await
        .map_err(|e| CliError::Runtime(e.into()))?;
    let mut result = run_episode(bus, opts).await;
    // Close the log whatever happened: it is what explains a failed episode.
    r.finish().await.map_err(|e| CliError::Runtime(e.into()))?;
    // Name the log after the scenario and seed, known once the episode started.
    let stem = match &result {
        Ok(rep) => format!("{}-seed{}", rep.scenario, rep.seed),
        Err(_) => format!("episode-{i}-not-started"),
    };
    let done = clea_bus::record::unused_path(dir, &stem);
    // The sensor log (camera frames from a robot) goes with it.
    clea_bus::record::rename_log(&part, &done).map_err(|e| CliError::Runtime(e.into()))?;
    if let Ok(rep) = &mut result {
        rep.log = Some(done.display().to_string());
    }
    Ok(result?)
}

/// Wait until at least one skill server announced itself (a liveliness token, seen at once
/// if it exists already).
async fn wait_for_robots(bus: &Bus, timeout: Duration) -> Result<(), CliError> {
    let servers = bus
        .session
        .liveliness()
        .declare_subscriber(bus.keys.any_skill_server())
        .history(true)
        .await
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("liveliness subscriber: {e}")))?;
    let appeared = async {
        while let Ok(s) = servers.recv_async().await {
            if s.kind() == zenoh::sample::SampleKind::Put {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(timeout, appeared).await {
        Ok(true) => Ok(()),
        _ => Err(CliError::Runtime(anyhow::anyhow!(
            "no robot skill server appeared on clea/{}/ within {} s (is `clea sim --serve` running and reachable?)",
            bus.keys.namespace(),
            timeout.as_secs_f64()
        ))),
    }
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
    let bus = super::join_bus(&robot.file.bus, None).await?;
    let summary = robot.summary();
    let adapter = Ros2Adapter::start(&bus, robot.file.robot)
        .await
        .map_err(|e| match e {
            // A type the ROS 2 install lacks is the launch file's problem.
            AdapterError::Config(c) => CliError::Input(format!("{}: robot: {c}", path.display())),
            e => CliError::Runtime(e.into()),
        })?;
    // Perception beside the adapter: the frames it bridges go to the detector in this process.
    let _perception = match &robot.file.perception {
        Some(p) => Some(crate::perception::start(&bus, path, p).await?),
        None => None,
    };
    eprintln!("clea: bridging {summary}; Ctrl-C stops");
    clea_agent::episode::wait_for_interrupt().await;
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
