//! `clea sim` on scenarios of a domain written as data (a PDDL domain with its skill binding):
//! the simulator's fact world and the symbolic closed loop over the loaded domain, in process.

use crate::cmd::sim::{ObservabilityArg, OnOff, SimArgs};
use crate::error::CliError;
use clea_agent::domain_agent::{run_domain_episode, DomainAgentOptions, DomainEnv, Observability};
use clea_agent::report::{EpisodeReport, SuiteReport};
use clea_domain::call::Call;
use clea_domain::AtomId;
use clea_sim::domain_world::{
    is_domain_scenario, load_domain_scenario, DomainScenario, DomainWorld,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::Instant;

/// The domain scenarios at `path` (a file, or a folder's `*.yaml` in name order), or `None` when
/// they are kitchen scenarios. A folder must not mix the two kinds.
///
/// # Errors
/// [`CliError::Input`] for a scenario that does not load or a folder that mixes kinds.
pub fn load(path: &Path) -> Result<Option<Vec<DomainScenario>>, CliError> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let domain: Vec<bool> = files.iter().map(|f| is_domain_scenario(f)).collect();
    if !domain.iter().any(|d| *d) {
        return Ok(None);
    }
    if let Some(i) = domain.iter().position(|d| !*d) {
        return Err(CliError::Input(format!(
            "{}: not a domain scenario (no binding:) in a folder of domain scenarios",
            files[i].display()
        )));
    }
    files
        .iter()
        .map(|f| load_domain_scenario(f).map_err(CliError::from))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

struct Env<'a>(&'a mut DomainWorld);

impl DomainEnv for Env<'_> {
    fn execute(&mut self, call: &Call) -> Result<(), String> {
        self.0.execute(call)
    }
    fn perceive(&self, robot: &str) -> Vec<(AtomId, bool)> {
        self.0.perceive(robot)
    }
    fn out_of_steps(&self) -> bool {
        self.0.out_of_steps()
    }
}

/// Run every scenario: its reference plan open-loop with `--reference-plan`, else the agent
/// (`--critic off`, `--open-loop` for the ablations).
///
/// # Errors
/// [`CliError::Input`] for options that domain scenarios do not take, or a scenario without a
/// reference plan under `--reference-plan`.
pub fn run(args: &SimArgs, scenarios: &[DomainScenario]) -> Result<SuiteReport, CliError> {
    if args.plan.is_some()
        || args.serve
        || args.agent.is_some()
        || args.log_dir.is_some()
        || !args.connect.is_empty()
        || !args.listen.is_empty()
    {
        return Err(CliError::Input(
            "domain scenarios run in process with the symbolic agent: --plan, --serve, --agent, --log-dir, --listen and --connect are for the kitchen suite".into(),
        ));
    }
    if args.reference_plan {
        if let Some(s) = scenarios.iter().find(|s| s.reference_plan.is_none()) {
            return Err(CliError::Input(format!(
                "{}: reference_plan: scenario {} has none",
                s.file.display(),
                s.name
            )));
        }
    }
    let bar = ProgressBar::new(scenarios.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut episodes = Vec::new();
    for s in scenarios {
        bar.set_message(s.name.clone());
        let t0 = Instant::now();
        let mut world = DomainWorld::new(s);
        let (reason, rejections, replans) = if args.reference_plan {
            let mut failed = None;
            for call in s.reference_plan.iter().flatten() {
                if world.out_of_steps() {
                    break;
                }
                if let Err(e) = world.execute(call) {
                    failed.get_or_insert(format!("{call} failed: {e}"));
                }
            }
            (
                failed.unwrap_or_else(|| "reference plan executed".into()),
                0,
                0,
            )
        } else {
            let opts = DomainAgentOptions {
                critic: args.critic == OnOff::On,
                open_loop: args.open_loop,
                observability: match args.observability {
                    Some(ObservabilityArg::Full) => Observability::Full,
                    Some(ObservabilityArg::Partial) => Observability::Partial,
                    None => s.observability,
                },
                ..DomainAgentOptions::default()
            };
            let out = run_domain_episode(&s.task, &s.bound.binding, &mut Env(&mut world), &opts);
            (out.reason, out.critic_rejections, out.replans)
        };
        let mut report = EpisodeReport::new(
            &s.name,
            0,
            world.score(),
            reason,
            t0.elapsed().as_secs_f64(),
        );
        report.critic_rejections = rejections;
        report.replans = replans;
        episodes.push(report);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(SuiteReport::new(episodes))
}
