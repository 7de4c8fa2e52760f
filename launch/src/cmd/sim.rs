//! `clea sim`: run scenarios against the simulated CLEA kitchen, or serve its robots; scenarios
//! of a domain written as data (PDDL + skill binding) go to [`super::sim_domain`].

use crate::error::CliError;
use crate::launchfile::AgentSection;
use crate::table;
use clap::{Args, ValueEnum};
use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::backends::ModelsConfig;
use clea_agent::controller::{ControllerConfig, ControllerLimits};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_agent::openloop::{run_action_list, OpenLoopOptions};
use clea_agent::planner_errors::{ErrorModel, ErrorPlanner};
use clea_agent::report::{EpisodeReport, SuiteReport};
use clea_agent::symbolic::SearchPlanner;
use clea_bus::record::{Recorder, RecorderOptions};
use clea_bus::{Bus, BusConfig, Keys};
use clea_sim::scenario::{self, Scenario};
use clea_skills::Action;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// `--mode` of `clea sim` ([`clea_bus::session::SessionMode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// A zenoh peer.
    Peer,
    /// A zenoh client of a router.
    Client,
}

impl From<ModeArg> for clea_bus::session::SessionMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Peer => Self::Peer,
            ModeArg::Client => Self::Client,
        }
    }
}

/// `--observability` of `clea sim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObservabilityArg {
    /// The problem's initial state is known.
    Full,
    /// Only what the robots perceive is known.
    Partial,
}

/// Run scenarios in simulation (robots and agent in one process), or serve the simulated robots.
///
/// By default the closed-loop CLEA agent (observer, memory, planner, critic, executor with the
/// symbolic backends) runs each scenario. With `--plan` or `--reference-plan` a fixed action list
/// runs open-loop instead. Prints one row per episode and the aggregate success rate and score.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Scenario file, or a folder of scenario files (*.yaml, run in name order): kitchen
    /// scenarios, or domain scenarios (a `binding:` and a PDDL `problem:`; run in process).
    pub path: PathBuf,
    /// Execute this action list (YAML list of calls such as `go_to(robot_1, in_front_of_table)`)
    /// open-loop instead of running the agent.
    #[arg(long, conflicts_with_all = ["reference_plan", "open_loop", "critic"])]
    pub plan: Option<PathBuf>,
    /// Execute each scenario's own `reference_plan` open-loop instead of running the agent.
    #[arg(long, conflicts_with_all = ["open_loop", "critic"])]
    pub reference_plan: bool,
    /// Use the critic (the ablation `--critic off` executes actions unchecked).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    pub critic: OnOff,
    /// Ablation: plan once from the first observation, then execute without feedback.
    #[arg(long)]
    pub open_loop: bool,
    /// Domain scenarios: what the agent knows at the start, overriding each scenario's
    /// `observability:` (full: the problem's initial state; partial: only what its robots
    /// perceive, the rest searched for).
    #[arg(long, value_enum)]
    pub observability: Option<ObservabilityArg>,
    /// Seed for every episode (default: each scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write one MCAP episode log per episode into this folder (`<scenario>-seed<N>.mcap`).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Only serve the simulated robots of one scenario on the bus, for an agent in another
    /// process; runs until interrupted (Ctrl-C).
    #[arg(long, conflicts_with_all = ["plan", "reference_plan", "json", "log_dir", "agent", "open_loop"])]
    pub serve: bool,
    /// zenoh endpoint to listen on (repeatable), e.g. tcp/127.0.0.1:7447.
    #[arg(long)]
    pub listen: Vec<String>,
    /// zenoh endpoint to connect to (repeatable). Without --serve: drive robots served by
    /// another process instead of starting them here.
    #[arg(long)]
    pub connect: Vec<String>,
    /// zenoh mode: `client` joins the router given by --connect (`clea router`) and is routed
    /// by it, as a fleet's processes do; `peer` talks only to what it connects to or accepts.
    #[arg(long, value_enum, default_value_t = ModeArg::Peer)]
    pub mode: ModeArg,
    /// Bus namespace (keys live under clea/<namespace>/).
    #[arg(long, default_value = clea_bus::session::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// With --serve: serve one independent copy of the scenario's robots per team, each on
    /// clea/<team>/ instead of --namespace (repeatable); an agent process drives them with a
    /// launch file's `teams:`.
    #[arg(long, requires = "serve", value_name = "NAMESPACE")]
    pub team: Vec<String>,
    /// Deadline of each skill after acceptance, s (the executor cancels it then) [default:
    /// the --agent file's agent.skill_timeout_s, else 30].
    #[arg(long)]
    pub skill_timeout: Option<f64>,
    /// Take the agent's module backends, endpoints and budgets from this launch file
    /// (its `agent:` and `models:` sections), e.g. launch/files/llm-kitchen.yaml.
    #[arg(long, conflicts_with_all = ["plan", "reference_plan"])]
    pub agent: Option<PathBuf>,
    /// Serve model replies recorded in this episode log instead of calling endpoints
    /// (deterministic re-run of a model-backed episode).
    #[arg(long, requires = "agent")]
    pub cassette: Option<PathBuf>,
    /// Inject the errors of language-model planners into the search planner's plans: each
    /// plan carries one with this probability, in [0, 1] (an invalid call, a hallucinated
    /// object, a skipped `open`, the wrong robot, a stale location, a premature done;
    /// `clea_agent::planner_errors`). For ablations of the critic and the loop without a model.
    #[arg(long, value_name = "RATE", conflicts_with_all = ["plan", "reference_plan", "agent", "serve"])]
    pub planner_errors: Option<f64>,
    /// Seed of the planner errors; each episode's errors also depend on its world seed and
    /// scenario, so a run is reproduced exactly.
    #[arg(long, default_value_t = 0, requires = "planner_errors")]
    pub planner_errors_seed: u64,
    /// The controller's limits, replacing the --agent file's (`clea rerun` passes a log's).
    #[arg(skip)]
    pub limits: Option<ControllerLimits>,
}

/// What each episode runs.
enum Mode {
    /// A fixed action list, open-loop.
    ActionList(Vec<Action>),
    /// The closed-loop agent.
    Agent(ControllerConfig),
}

/// Run `clea sim`.
pub async fn run(args: SimArgs) -> Result<(), CliError> {
    let Some(report) = run_suite(&args).await? else {
        return Ok(());
    };
    table::print(&report, args.json)?;
    if clea_agent::episode::interrupted() {
        return Err(CliError::Interrupted);
    }
    Ok(())
}

/// Run the episodes `args` describe and return their report (`None` after `--serve`).
pub async fn run_suite(args: &SimArgs) -> Result<Option<SuiteReport>, CliError> {
    let args = args.clone();
    if let Some(domain_scenarios) = crate::cmd::sim_domain::load(&args.path)? {
        return crate::cmd::sim_domain::run(&args, &domain_scenarios).map(Some);
    }
    let scenarios = scenario::load_path(&args.path)?;
    let bus_config = BusConfig {
        namespace: args.namespace.clone(),
        listen: args.listen.clone(),
        connect: args.connect.clone(),
        multicast_scouting: false,
        mode: args.mode.into(),
    };
    if args.serve {
        serve(&args, &scenarios, &bus_config).await?;
        return Ok(None);
    }
    if let Some(rate) = args.planner_errors {
        if !(0.0..=1.0).contains(&rate) {
            return Err(CliError::Input(format!(
                "--planner-errors: {rate} is not a probability in [0, 1]"
            )));
        }
    }
    if let Some(t) = args.skill_timeout {
        if !(t > 0.0 && t <= scenario::MAX_SECONDS) {
            return Err(CliError::Input(format!(
                "--skill-timeout: {t} is not a time in (0, {}] s",
                scenario::MAX_SECONDS
            )));
        }
    }
    clea_bus::keys::check_chunk(&args.namespace)
        .map_err(|e| CliError::Input(format!("--namespace: {e}")))?;
    if !args.connect.is_empty() && !args.serve && scenarios.len() > 1 {
        return Err(CliError::Input(format!(
            "{}: --connect drives the one scenario another process serves; give that scenario's file, not a folder",
            args.path.display()
        )));
    }
    let agent = match &args.agent {
        Some(p) => {
            let mut lf = crate::launchfile::load(p).map_err(CliError::Input)?;
            if let Some(c) = &args.cassette {
                if !c.is_file() {
                    return Err(CliError::Input(format!(
                        "{}: --cassette: no such file",
                        c.display()
                    )));
                }
                lf.models.cassette = Some(c.clone());
            }
            AgentSetup::new(&lf.agent, lf.models, &args)
        }
        // Without a file, the file's defaults: they are the only ones.
        None => AgentSetup::new(&AgentSection::default(), ModelsConfig::default(), &args),
    };
    // Resolve every action list before anything runs: bad input fails fast with exit code 2.
    let mut modes: Vec<Mode> = Vec::new();
    for s in &scenarios {
        modes.push(match (&args.plan, args.reference_plan) {
            (Some(p), _) => Mode::ActionList(scenario::load_plan(p, &s.world)?),
            (None, true) => Mode::ActionList(s.reference_plan.clone().ok_or_else(|| {
                CliError::Input(format!(
                    "{}: reference_plan: scenario {} has none",
                    s.file.display(),
                    s.name
                ))
            })?),
            (None, false) => Mode::Agent(ControllerConfig {
                critic: args.critic == OnOff::On,
                open_loop: args.open_loop,
                limits: agent.limits,
            }),
        });
    }
    let bus = super::join_bus(&bus_config, Some(Duration::from_secs(30))).await?;
    let progress = progress_bar(scenarios.len(), args.json);
    let mut episodes: Vec<EpisodeReport> = Vec::new();
    for (i, (s, mode)) in scenarios.iter().zip(&modes).enumerate() {
        if clea_agent::episode::interrupted() {
            break;
        }
        progress.set_message(s.name.clone());
        episodes.push(run_one(&bus, &args, &agent, i, s, mode).await?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(Some(SuiteReport::new(episodes)))
}

/// The planner errors' seed of one episode: the run's, the world's and the scenario's (FNV-1a
/// of its name), so episodes differ from one another and each is reproduced alone.
fn episode_error_seed(run: u64, world: u64, scenario: &str) -> u64 {
    let name = scenario.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    run ^ world.rotate_left(17) ^ name
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

/// The agent's backends and budgets (symbolic by default, or from `--agent`), resolved once:
/// a flag wins over the file, the file over the defaults.
struct AgentSetup {
    models: ModelsConfig,
    skill_timeout: Duration,
    limits: ControllerLimits,
    history: usize,
    module_timeout: Duration,
    max_model_calls: u32,
    max_model_tokens: u64,
    max_wall_time: Option<Duration>,
}

impl AgentSetup {
    /// The settings of `agent` and `models`, with the flags of `args` in their place where given.
    fn new(agent: &AgentSection, models: ModelsConfig, args: &SimArgs) -> Self {
        Self {
            models,
            skill_timeout: Duration::from_secs_f64(
                args.skill_timeout.unwrap_or(agent.skill_timeout_s),
            ),
            limits: args.limits.unwrap_or(agent.limits),
            history: agent.history,
            module_timeout: Duration::from_secs_f64(agent.module_timeout_s),
            max_model_calls: agent.max_model_calls,
            max_model_tokens: agent.max_model_tokens,
            max_wall_time: agent.max_wall_time_s.map(Duration::from_secs_f64),
        }
    }
}

async fn run_one(
    bus: &Bus,
    args: &SimArgs,
    agent: &AgentSetup,
    index: usize,
    s: &Scenario,
    mode: &Mode,
) -> Result<EpisodeReport, CliError> {
    let remote = !args.connect.is_empty();
    // Each in-process episode gets its own namespace, so nothing of one episode reaches the next.
    let bus = if remote {
        bus.clone()
    } else {
        Bus {
            session: bus.session.clone(),
            keys: Keys::new(&format!("{}-ep{index}", bus.keys.namespace()))?,
        }
    };
    let _sim = if remote {
        None
    } else {
        Some(clea_sim::robots::serve(&bus, s, args.seed).await?)
    };
    let seed = args.seed.unwrap_or(s.seed);
    let recorder = match &args.log_dir {
        Some(dir) => Some(start_recorder(&bus, dir, s, seed, mode, args, agent).await?),
        None => None,
    };
    let skill_timeout = agent.skill_timeout;
    let report = match mode {
        Mode::ActionList(plan) => {
            let opts = OpenLoopOptions {
                seed: args.seed,
                skill_timeout: Some(skill_timeout),
                ..Default::default()
            };
            run_action_list(&bus, plan, opts).await?
        }
        Mode::Agent(config) => {
            let kinds: Vec<ActorKind> = ActorKind::ALL
                .into_iter()
                .filter(|k| args.planner_errors.is_none() || *k != ActorKind::Planner)
                .collect();
            let mut actors =
                ActorSet::build(&bus, &kinds, &agent.models, agent.history, skill_timeout)
                    .await
                    .map_err(|e| CliError::Input(format!("--agent: {e}")))?;
            if let Some(rate) = args.planner_errors {
                let model = ErrorModel {
                    rate,
                    seed: episode_error_seed(args.planner_errors_seed, seed, &s.name),
                };
                let planner = ErrorPlanner::new(SearchPlanner, model);
                actors.planner(&bus, Box::new(planner)).await?;
            }
            let opts = EpisodeOptions {
                seed: args.seed,
                controller: *config,
                skill_timeout,
                module_timeout: agent.module_timeout,
                max_model_calls: agent.max_model_calls,
                max_model_tokens: agent.max_model_tokens,
                max_wall_time: agent.max_wall_time,
                ..Default::default()
            };
            run_episode(&bus, &opts).await?
        }
    };
    let mut report = report;
    if remote && report.scenario != s.name {
        return Err(CliError::Input(format!(
            "{}: the simulator reached over --connect serves scenario {}, not {}",
            s.file.display(),
            report.scenario,
            s.name
        )));
    }
    if let Some(r) = recorder {
        let stats = r.finish().await.map_err(anyhow::Error::from)?;
        report.log = Some(stats.path.display().to_string());
        tracing::info!(path = %stats.path.display(), messages = stats.messages, "episode log written");
    }
    Ok(report)
}

async fn start_recorder(
    bus: &Bus,
    dir: &std::path::Path,
    s: &Scenario,
    seed: u64,
    mode: &Mode,
    args: &SimArgs,
    agent: &AgentSetup,
) -> Result<Recorder, CliError> {
    let (agent_file, cassette) = (args.agent.as_deref(), args.cassette.as_deref());
    let planner_errors = args.planner_errors.map(|r| (r, args.planner_errors_seed));
    let path = clea_bus::record::unused_path(dir, &format!("{}-seed{seed}", s.name));
    let mut metadata = BTreeMap::from([
        ("scenario".to_string(), s.name.clone()),
        (
            "scenario_file".to_string(),
            std::fs::canonicalize(&s.file)
                .unwrap_or_else(|_| s.file.clone())
                .display()
                .to_string(),
        ),
        ("seed".to_string(), seed.to_string()),
        (
            "clea_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    match mode {
        Mode::ActionList(_) => {
            metadata.insert("agent".into(), "action-list".into());
        }
        Mode::Agent(c) => {
            metadata.insert("agent".into(), "clea".into());
            if let Some(f) = agent_file {
                let f = std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf());
                metadata.insert("agent_file".into(), f.display().to_string());
            }
            if let Some(f) = cassette {
                metadata.insert("cassette".into(), f.display().to_string());
            }
            metadata.insert("critic".into(), if c.critic { "on" } else { "off" }.into());
            metadata.insert("open_loop".into(), c.open_loop.to_string());
            // The settings as resolved (flags, file, defaults): `clea rerun` uses these.
            metadata.insert(
                "skill_timeout_s".into(),
                agent.skill_timeout.as_secs_f64().to_string(),
            );
            metadata.insert(
                "limits".into(),
                serde_json::to_string(&c.limits).map_err(anyhow::Error::from)?,
            );
            if let Some((rate, seed)) = planner_errors {
                metadata.insert("planner_errors".into(), rate.to_string());
                metadata.insert("planner_errors_seed".into(), seed.to_string());
            }
        }
    }
    let scenario_text = std::fs::read(&s.file).unwrap_or_default();
    let opts = RecorderOptions {
        metadata,
        attachments: vec![(
            "scenario.yaml".into(),
            "application/yaml".into(),
            scenario_text,
        )],
        ..Default::default()
    };
    Recorder::start(bus, &path, opts)
        .await
        .map_err(|e| CliError::Runtime(e.into()))
}

async fn serve(args: &SimArgs, scenarios: &[Scenario], config: &BusConfig) -> Result<(), CliError> {
    let [s] = scenarios else {
        return Err(CliError::Input(format!(
            "{}: --serve takes one scenario file, not a folder of {}",
            args.path.display(),
            scenarios.len()
        )));
    };
    let (teams, flag) = if args.team.is_empty() {
        (vec![config.namespace.clone()], "--namespace")
    } else {
        (args.team.clone(), "--team")
    };
    for (i, t) in teams.iter().enumerate() {
        clea_bus::keys::check_chunk(t).map_err(|e| CliError::Input(format!("{flag} {t}: {e}")))?;
        if teams[..i].contains(t) {
            return Err(CliError::Input(format!("{flag} {t}: given twice")));
        }
    }
    let bus = super::join_bus(config, None).await?;
    let mut sims = Vec::new();
    let mut claims = Vec::new();
    let (conflict_tx, mut conflicts) = tokio::sync::mpsc::unbounded_channel();
    for t in &teams {
        let bus = Bus {
            session: bus.session.clone(),
            keys: Keys::new(t)?,
        };
        // Two simulators on one team would answer the same goals: refuse to be the second (a
        // skill server there already), and yield to an earlier claim that shows up later.
        claims.push(super::team_claim::TeamClaim::take(&bus, conflict_tx.clone()).await?);
        if let Some(robot) = served_elsewhere(&bus).await? {
            return Err(CliError::Runtime(anyhow::anyhow!(
                "clea/{t}/ is already served: robot {robot} of another process answers there; \
                 give this one another --team (or --namespace)"
            )));
        }
        sims.push(clea_sim::robots::serve(&bus, s, args.seed).await?);
    }
    eprintln!(
        "clea: serving scenario {} (robots: {}) on {} listen={:?} connect={:?}; Ctrl-C stops",
        s.name,
        s.world
            .robots
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        teams
            .iter()
            .map(|t| format!("clea/{t}/"))
            .collect::<Vec<_>>()
            .join(", "),
        config.listen,
        config.connect
    );
    tokio::select! {
        // Ctrl-C or SIGTERM (the binary's handler turns both into the interrupt).
        () = clea_agent::episode::wait_for_interrupt() => Ok(()),
        Some(c) = conflicts.recv() => Err(CliError::Runtime(anyhow::anyhow!(
            "clea/{}/ is served by another simulator too (claim {}, earlier than this one's): \
             stopping this one; give each process its own --team (or --namespace)",
            c.team,
            c.other
        ))),
    }
}

/// The robot of a skill server that already announces itself on `bus`'s namespace, if any.
async fn served_elsewhere(bus: &Bus) -> Result<Option<String>, CliError> {
    let replies = bus
        .session
        .liveliness()
        .get(bus.keys.any_skill_server())
        .timeout(Duration::from_millis(500))
        .await
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("liveliness query: {e}")))?;
    let mut robot = None;
    // Read to the end of the query, so no reply lands in a dropped channel.
    while let Ok(reply) = replies.recv_async().await {
        if let (None, Ok(sample)) = (&robot, reply.result()) {
            // clea/<ns>/robot/<robot>/skill/<skill>/server
            robot = sample
                .key_expr()
                .as_str()
                .split('/')
                .nth(3)
                .map(str::to_string);
        }
    }
    Ok(robot)
}
