//! `clea rerun`: run the agent again on a logged episode and check that it decides the same.

use crate::cmd::sim::{run_suite, OnOff, SimArgs};
use crate::error::CliError;
use crate::trace::{common_kinds, decisions, first_divergence, side_by_side};
use clap::Args;
use clea_bus::record::read_log;
use std::path::PathBuf;

/// Rebuild the scenario and seed from an episode log, run the agent again in simulation (with
/// the recorded model replies as a cassette when the agent was model-backed), and report whether
/// every decision is identical; if not, the first step where the runs part, side by side.
///
/// Exit code 0 when identical, 1 when the runs part. This is how a change to the agent is
/// regression-tested against a library of logged episodes.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// Episode log written by `clea sim --log-dir`.
    pub log: PathBuf,
    /// Where to write the new run's log (default: a temporary folder).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Override the critic setting recorded in the log (to see what a change does).
    #[arg(long, value_enum)]
    pub critic: Option<OnOff>,
    /// Rows shown around the first divergence.
    #[arg(long, default_value_t = 6)]
    pub context: usize,
}

/// Run `clea rerun`.
pub async fn run(args: RerunArgs) -> Result<(), CliError> {
    let bad = |why: String| CliError::Input(format!("{}: {why}", args.log.display()));
    let original = read_log(&args.log).map_err(|e| CliError::Input(e.to_string()))?;
    if original.truncated {
        eprintln!(
            "clea: {} was cut short (no footer: the writer stopped mid-episode); comparing up to its last complete chunk",
            args.log.display()
        );
    }
    let meta = &original.metadata;
    let get = |k: &str| {
        meta.get(k)
            .cloned()
            .ok_or_else(|| bad(format!("metadata clea.episode has no {k:?}")))
    };
    if !meta.contains_key("scenario_file") {
        return Err(bad("the log does not name its scenario file (logs of `clea run` episodes against a remote simulator cannot be re-run here; record with `clea sim --log-dir`)".into()));
    }
    if meta.get("agent").map(String::as_str) != Some("clea") {
        return Err(bad("this log is of a fixed action list, not of the agent: there are no decisions to re-run".into()));
    }
    let scenario_file = PathBuf::from(get("scenario_file")?);
    if !scenario_file.is_file() {
        return Err(bad(format!(
            "the scenario file {} is gone",
            scenario_file.display()
        )));
    }
    let seed: u64 = get("seed")?
        .parse()
        .map_err(|_| bad("metadata seed is not a number".into()))?;
    let critic = match (args.critic, get("critic")?.as_str()) {
        (Some(c), _) => c,
        (None, "off") => OnOff::Off,
        _ => OnOff::On,
    };
    let agent = meta.get("agent_file").map(PathBuf::from);
    let planner_errors = meta
        .get("planner_errors")
        .map(|r| r.parse::<f64>())
        .transpose()
        .map_err(|_| bad("metadata planner_errors is not a number".into()))?;
    let planner_errors_seed: u64 = match planner_errors {
        Some(_) => get("planner_errors_seed")?
            .parse()
            .map_err(|_| bad("metadata planner_errors_seed is not a number".into()))?,
        None => 0,
    };
    // Settings recorded as resolved; a log older than them re-runs with the defaults.
    let skill_timeout = meta
        .get("skill_timeout_s")
        .map(|t| t.parse::<f64>())
        .transpose()
        .map_err(|_| bad("metadata skill_timeout_s is not a number".into()))?;
    let limits = meta
        .get("limits")
        .map(|l| serde_json::from_str(l))
        .transpose()
        .map_err(|e| bad(format!("metadata limits: {e}")))?;
    // Without --log-dir the re-run's log goes to a temporary folder, kept only when the runs
    // part (it is what explains the difference); removed on every other way out, errors too.
    let tmp = match &args.log_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("clea-rerun-")
                .tempdir()
                .map_err(|e| CliError::Runtime(e.into()))?,
        ),
    };
    let log_dir = match (&args.log_dir, &tmp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary folder is made without --log-dir"),
    };
    let sim = SimArgs {
        path: scenario_file,
        plan: None,
        reference_plan: false,
        critic,
        open_loop: get("open_loop")? == "true",
        observability: None,
        seed: Some(seed),
        json: true,
        log_dir: Some(log_dir.clone()),
        serve: false,
        listen: vec![],
        connect: vec![],
        mode: crate::cmd::sim::ModeArg::Peer,
        namespace: clea_bus::session::DEFAULT_NAMESPACE.into(),
        team: Vec::new(),
        skill_timeout,
        // A model-backed episode re-runs on its own recorded replies.
        cassette: agent.as_ref().map(|_| args.log.clone()),
        agent,
        planner_errors,
        planner_errors_seed,
        limits,
    };
    let report = run_suite(&sim)
        .await?
        .ok_or_else(|| bad("nothing ran".into()))?;
    // A re-run stopped by Ctrl-C is not a divergence.
    if clea_agent::episode::interrupted() {
        return Err(CliError::Interrupted);
    }
    let episode = &report.episodes[0];
    let new_log = PathBuf::from(
        episode
            .log
            .clone()
            .ok_or_else(|| CliError::Runtime(anyhow::anyhow!("the re-run wrote no log")))?,
    );
    let rerun = read_log(&new_log).map_err(|e| CliError::Runtime(e.into()))?;
    let (mut a, mut b) = (decisions(&original), decisions(&rerun));
    for kind in common_kinds(&mut a, &mut b) {
        eprintln!("clea: only one run has {kind} decisions; comparing the others");
    }
    // A cut log holds a prefix of the episode: the re-run is compared up to the cut.
    let rerun_total = b.len();
    if original.truncated && b.len() > a.len() {
        b.truncate(a.len());
    }
    match first_divergence(&a, &b) {
        None => {
            let outcome = if episode.success {
                "success"
            } else {
                "failure"
            };
            if original.truncated {
                println!(
                    "identical up to the cut: the {} decisions the log holds; the re-run went on to {rerun_total} ({} steps, {outcome})",
                    a.len(),
                    episode.steps,
                );
                return Ok(());
            }
            match &tmp {
                Some(_) => {
                    println!(
                        "identical: {} decisions ({} steps, {outcome}); --log-dir keeps the re-run's log",
                        a.len(),
                        episode.steps,
                    );
                }
                None => println!(
                    "identical: {} decisions ({} steps, {outcome}) in {}",
                    a.len(),
                    episode.steps,
                    new_log.display()
                ),
            }
            Ok(())
        }
        Some(i) => {
            // The re-run's log explains the difference: keep it.
            if let Some(t) = tmp {
                let _ = t.keep();
            }
            println!("{}", side_by_side(&a, &b, Some(i), args.context));
            let step = a.get(i).or(b.get(i)).map_or(0, |d| d.step());
            println!(
                "a = {} (recorded), b = {} (re-run)",
                args.log.display(),
                new_log.display()
            );
            Err(CliError::Differs(format!(
                "the runs part at decision {i}, step {step}"
            )))
        }
    }
}
