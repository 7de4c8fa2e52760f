//! `clea sim`: run scenarios against the simulated CLEA kitchen, or serve its robots.

use crate::error::CliError;
use crate::table;
use clap::Args;
use clea_agent::openloop::{run_action_list, OpenLoopOptions};
use clea_agent::report::{EpisodeReport, SuiteReport};
use clea_bus::{Bus, BusConfig, Keys};
use clea_sim::scenario::{self, Scenario};
use clea_skills::Action;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

/// Run scenarios in simulation (robots and agent in one process), or serve the simulated robots.
///
/// With `--plan` or `--reference-plan` a fixed action list runs open-loop (the paper's baseline).
/// Prints one row per episode and the aggregate success rate and score.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Scenario file, or a folder of scenario files (*.yaml, run in name order).
    pub path: PathBuf,
    /// Execute this action list (YAML list of calls such as `go_to(robot_1, in_front_of_table)`)
    /// open-loop.
    #[arg(long, conflicts_with = "reference_plan")]
    pub plan: Option<PathBuf>,
    /// Execute each scenario's own `reference_plan` open-loop.
    #[arg(long)]
    pub reference_plan: bool,
    /// Seed for every episode (default: each scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only serve the simulated robots of one scenario on the bus, for an agent in another
    /// process; runs until interrupted (Ctrl-C).
    #[arg(long)]
    pub serve: bool,
    /// zenoh endpoint to listen on (repeatable), e.g. tcp/127.0.0.1:7447.
    #[arg(long)]
    pub listen: Vec<String>,
    /// zenoh endpoint to connect to (repeatable). Without --serve: drive robots served by
    /// another process instead of starting them here.
    #[arg(long)]
    pub connect: Vec<String>,
    /// Bus namespace (keys live under clea/<namespace>/).
    #[arg(long, default_value = clea_bus::session::DEFAULT_NAMESPACE)]
    pub namespace: String,
}

/// Run `clea sim`.
pub async fn run(args: SimArgs) -> Result<(), CliError> {
    let scenarios = scenario::load_path(&args.path)?;
    let bus_config = BusConfig {
        namespace: args.namespace.clone(),
        listen: args.listen.clone(),
        connect: args.connect.clone(),
        multicast_scouting: false,
    };
    if args.serve {
        return serve(&args, &scenarios, &bus_config).await;
    }
    // Resolve every action list before anything runs: bad input fails fast with exit code 2.
    let mut plans: Vec<Vec<Action>> = Vec::new();
    for s in &scenarios {
        let plan = match (&args.plan, args.reference_plan) {
            (Some(p), _) => scenario::load_plan(p, &s.world)?,
            (None, true) => s.reference_plan.clone().ok_or_else(|| {
                CliError::Input(format!(
                    "{}: reference_plan: scenario {} has none",
                    s.file.display(),
                    s.name
                ))
            })?,
            (None, false) => return Err(CliError::Input(
                "the closed-loop agent is not available yet: give --plan FILE or --reference-plan"
                    .into(),
            )),
        };
        plans.push(plan);
    }
    let bus = Bus::open(&bus_config).await?;
    let remote = !args.connect.is_empty();
    let progress = progress_bar(scenarios.len(), args.json);
    let mut episodes: Vec<EpisodeReport> = Vec::new();
    for (i, (s, plan)) in scenarios.iter().zip(&plans).enumerate() {
        progress.set_message(s.name.clone());
        let report = run_one(&bus, i, s, plan, args.seed, remote).await?;
        episodes.push(report);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let report = SuiteReport::new(episodes);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?
        );
    } else {
        print!("{}", table::render(&report));
    }
    Ok(())
}

fn progress_bar(n: usize, quiet: bool) -> ProgressBar {
    if n < 2 || quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(n as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .expect("static progress template"),
    );
    pb
}

async fn run_one(
    bus: &Bus,
    index: usize,
    s: &Scenario,
    plan: &[Action],
    seed: Option<u64>,
    remote: bool,
) -> Result<EpisodeReport, CliError> {
    let opts = OpenLoopOptions {
        seed,
        ..Default::default()
    };
    if remote {
        return Ok(run_action_list(bus, plan, opts).await?);
    }
    // Each in-process episode gets its own namespace, so nothing of one episode reaches the next.
    let ns = format!("{}-ep{index}", bus.keys.namespace());
    let episode_bus = Bus {
        session: bus.session.clone(),
        keys: Keys::new(&ns)?,
    };
    let _sim = clea_sim::robots::serve(&episode_bus, s, seed).await?;
    Ok(run_action_list(&episode_bus, plan, opts).await?)
}

async fn serve(args: &SimArgs, scenarios: &[Scenario], config: &BusConfig) -> Result<(), CliError> {
    let [s] = scenarios else {
        return Err(CliError::Input(format!(
            "{}: --serve takes one scenario file, not a folder of {}",
            args.path.display(),
            scenarios.len()
        )));
    };
    let bus = Bus::open(config).await?;
    let _sim = clea_sim::robots::serve(&bus, s, args.seed).await?;
    eprintln!(
        "clea: serving scenario {} (robots: {}) on clea/{}/ listen={:?} connect={:?}; Ctrl-C stops",
        s.name,
        s.world
            .robots
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        config.namespace,
        config.listen,
        config.connect
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CliError::Runtime(e.into()))?;
    Ok(())
}
