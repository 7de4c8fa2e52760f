//! `clea bench eai`: the agent on Embodied Agent Interface's VirtualHome tasks, scored by EAI's
//! own scorer, beside the 15 language models whose outputs EAI ships.
//!
//! The simulator is a separate process on the bus (`sim/eai/serve.py`, EAI's evolving-graph
//! simulator behind the task service and the skill protocol, `clea_bus::task`); this command only
//! speaks the bus: it loads each instance (the PDDL domain and problem come from the simulator),
//! runs the closed loop over it with skill goals and fact perception, and asks the simulator's
//! scorer for the verdict. The bundled models' rows come from EAI's `evaluate_results` run on
//! their bundled outputs (`sim/eai/bundled.py`).

use crate::cmd::sim::{ObservabilityArg, OnOff};
use crate::error::CliError;
use anyhow::anyhow;
use clea_agent::domain_agent::{run_domain_episode, DomainAgentOptions, DomainEnv, Observability};
use clea_bus::action::{GoalOptions, SkillClient};
use clea_bus::msg::{ActionRecord, EpisodeEvent, SkillCall, SkillOutcome};
use clea_bus::record::{unused_path, Recorder, RecorderOptions};
use clea_bus::session::BusConfig;
use clea_bus::task::{self, TaskEnd, TaskRequest, TaskStart, TaskVerdict};
use clea_bus::Bus;
use clea_domain::binding::{parse_binding, Binding};
use clea_domain::call::Call;
use clea_domain::{parse_domain, parse_problem, AtomId, Limits, Task};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// `clea bench`: benchmarks against work written elsewhere.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, clap::Subcommand)]
enum Which {
    /// Embodied Agent Interface's VirtualHome action-sequencing tasks (PyPI virtualhome-eval),
    /// scored by EAI's scorer (`scene_evaluate_wID`), beside the 15 models EAI ships outputs of.
    Eai(EaiArgs),
}

/// `clea bench eai`.
#[derive(Debug, clap::Args)]
pub struct EaiArgs {
    /// Instance ids (EAI file ids, e.g. `27_2,11_1`); default: every instance.
    #[arg(long, value_delimiter = ',')]
    ids: Vec<String>,
    /// Only the first N instances (in EAI's `id2task.json` order, after --ids; at least 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// What the agent knows: every object of the task (full, as EAI's prompts give the models)
    /// or what the character perceives from where it is (partial).
    #[arg(long, value_enum, default_value_t = ObservabilityArg::Full)]
    observability: ObservabilityArg,
    /// The rule critic (off: the no-critic ablation).
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    critic: OnOff,
    /// Plan once and execute blindly (the open-loop ablation).
    #[arg(long)]
    open_loop: bool,
    /// Run all three modes (full loop, critic off, open loop), one table row each.
    #[arg(long, conflicts_with_all = ["critic", "open_loop"])]
    all_modes: bool,
    /// Skip the bundled models' rows (EAI's scorer on their outputs takes minutes).
    #[arg(long)]
    no_bundled: bool,
    /// The project's Python (with virtualhome-eval and eclipse-zenoh).
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// The simulator's folder (serve.py, bundled.py).
    #[arg(long, default_value = "sim/eai")]
    server_dir: PathBuf,
    /// The skill binding of the VirtualHome domain.
    #[arg(long, default_value = "sim/domains/virtualhome/binding.yaml")]
    binding: PathBuf,
    /// Give the agent EAI's virtualhome.pddl as shipped, without the corrections that make it
    /// agree with their simulator (sim/eai/vh_task.py, DOMAIN_CORRECTIONS; README).
    #[arg(long)]
    domain_as_shipped: bool,
    /// Most skill calls per episode (at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    max_steps: u32,
    /// Time for one search (s).
    #[arg(long, default_value_t = 20.0)]
    plan_timeout_s: f64,
    /// Write every episode's verdict (EAI's fields, the executed script) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write one episode log (MCAP) per instance and mode here: the skill calls, their
    /// results and the scorer's success, which `clea replay` plays back.
    #[arg(long)]
    log_dir: Option<PathBuf>,
}

/// One row of the table: a mode of our agent, or a bundled model.
#[derive(Debug, Clone, Serialize)]
struct Row {
    agent: String,
    scored: usize,
    success: usize,
    /// Episodes whose every executed action ran (no failed action).
    executable: usize,
    /// First error types of episodes with a failed action.
    errors: BTreeMap<String, usize>,
}

/// One episode's record in `--json`.
#[derive(Debug, Serialize)]
struct EpisodeRecord {
    mode: String,
    task: String,
    name: String,
    scored: bool,
    agent_reason: String,
    seconds: f64,
    verdict: Option<TaskVerdict>,
}

/// The simulator process; killed when dropped.
struct Server(Child);

impl Server {
    /// `Err` naming the exit status once the simulator process has ended (it does not on its
    /// own: a crash, or a kill), so a run stops at once instead of waiting on bus timeouts.
    fn check_alive(&mut self) -> Result<(), CliError> {
        match self.0.try_wait() {
            Ok(Some(status)) => Err(CliError::Runtime(anyhow!(
                "the simulator (sim/eai/serve.py) exited ({status})"
            ))),
            _ => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `serve.py` listening on a free local port; returns once it printed `ready`.
fn start_server(args: &EaiArgs, ns: &str) -> Result<(Server, String), CliError> {
    let script = args.server_dir.join("serve.py");
    if !script.is_file() {
        return Err(CliError::Input(format!(
            "--server-dir: {} not found (run from the repository root, or pass --server-dir)",
            script.display()
        )));
    }
    if !args.python.exists() {
        return Err(CliError::Input(format!(
            "--python: {} not found (run scripts/setup.sh first)",
            args.python.display()
        )));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| CliError::Runtime(anyhow!("no free local port: {e}")))?
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let mut command = Command::new(&args.python);
    // Its own process group: a terminal's Ctrl-C reaches clea only, which ends the running
    // episode, prints the rows and then stops the simulator.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .arg(&script)
        .args(["--listen", &endpoint, "--namespace", ns])
        .args(args.domain_as_shipped.then_some("--domain-as-shipped"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::Runtime(anyhow!("cannot start {}: {e}", script.display())))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    // Wait for `ready` (the simulator imports EAI's package first, a few seconds), bounded.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first.and_then(Result::ok));
        // Keep draining so the simulator never blocks on a full pipe.
        for _ in lines {}
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Some(l)) if l.trim() == "ready" => Ok((server, endpoint)),
        Ok(other) => Err(CliError::Runtime(anyhow!(
            "{} did not start (first line: {other:?}; see its error above)",
            script.display()
        ))),
        Err(_) => Err(CliError::Runtime(anyhow!(
            "{} printed no `ready` within 120 s",
            script.display()
        ))),
    }
}

/// The agent's side of the bus as a [`DomainEnv`]: skills are goals to the simulator's skill
/// servers, perception is a facts query.
struct BusEnv<'a> {
    rt: Handle,
    bus: &'a Bus,
    client: &'a SkillClient,
    task: &'a Task,
    binding: &'a Binding,
    steps: u32,
    max_steps: u32,
}

/// `(pred a b)` → its atom in `task`, when the task has it (facts about objects or predicates
/// the grounded task does not track are dropped).
fn atom_of(task: &Task, text: &str) -> Option<AtomId> {
    let body = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let mut words = body.split_whitespace();
    let pred = words.next()?;
    let args: Vec<&str> = words.collect();
    task.atom_id(pred, &args)
}

impl BusEnv<'_> {
    fn skill_call(&self, call: &Call) -> SkillCall {
        let robot_param = self
            .binding
            .actions
            .get(&call.skill)
            .map(|s| s.robot.as_str())
            .unwrap_or("robot");
        let mut args = BTreeMap::new();
        if let Some(schema) = self.task.domain.action(&call.skill) {
            for (p, v) in schema.params.iter().zip(&call.args) {
                let name = if p.name == robot_param {
                    "robot"
                } else {
                    p.name.as_str()
                };
                args.insert(name.to_string(), serde_json::Value::String(v.clone()));
            }
        }
        SkillCall {
            skill: call.skill.clone(),
            args,
        }
    }
}

impl DomainEnv for BusEnv<'_> {
    fn execute(&mut self, call: &Call) -> Result<(), String> {
        self.steps += 1;
        let sc = self.skill_call(call);
        let timeout = Duration::from_secs_f64(self.binding.timeout_s(&call.skill));
        let opts = GoalOptions {
            accept_timeout: Duration::from_secs(10),
            result_timeout: Some(timeout),
        };
        let step = self.steps;
        self.rt.block_on(async {
            let (accepted, outcome) = match self.client.send_goal(&sc, opts).await {
                Ok(handle) => (true, handle.result(|_| {}).await),
                Err(e) => (
                    false,
                    SkillOutcome::Failed {
                        reason: e.to_string(),
                    },
                ),
            };
            // For the episode log (a recorder on the namespace writes what is published).
            let keys = &self.bus.keys;
            let record = ActionRecord {
                step,
                call: sc.clone(),
                outcome: outcome.clone(),
                accepted,
            };
            let event = EpisodeEvent::Skill {
                step,
                action: call.to_string(),
                outcome: outcome.clone(),
            };
            for r in [
                self.bus.publish(&keys.action(), &record).await,
                self.bus.publish(&keys.episode_event(), &event).await,
            ] {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "the episode log misses a record");
                }
            }
            match outcome {
                SkillOutcome::Succeeded => Ok(()),
                SkillOutcome::Failed { reason } => Err(reason),
                other => Err(format!("{other:?}")),
            }
        })
    }

    fn perceive(&self, robot: &str) -> Vec<(AtomId, bool)> {
        let obs = self
            .rt
            .block_on(task::facts(self.bus, robot, Duration::from_secs(10)));
        match obs {
            Ok(o) => o
                .facts
                .iter()
                .filter_map(|f| atom_of(self.task, &f.atom).map(|a| (a, f.value)))
                .collect(),
            Err(e) => {
                tracing::warn!(robot, error = %e, "no perception");
                Vec::new()
            }
        }
    }

    fn out_of_steps(&self) -> bool {
        // Ctrl-C ends the running episode at its next step.
        self.steps >= self.max_steps || clea_agent::episode::interrupted()
    }
}

/// The instance's task: the simulator's domain and problem, with its required actions compiled
/// in (`clea_domain::required`).
///
/// The problem's initial state is first brought up to date with what the robots perceive
/// (`perceive`: facts and values): a fact the problem file leaves out but the world shows
/// (a switch that is as good as plugged in) must not be pruned away by grounding.
fn load_task(
    start: &TaskStart,
    binding_text: &str,
    observability: Observability,
    perceive: impl Fn(&str) -> Vec<(String, bool)>,
) -> Result<(Task, Binding), String> {
    let mut domain = parse_domain(&start.domain).map_err(|e| format!("domain: {e}"))?;
    let binding = parse_binding(binding_text).map_err(|e| format!("binding: {e}"))?;
    binding
        .check(&domain)
        .map_err(|e| format!("binding: {e}"))?;
    let mut problem =
        parse_problem(&domain, &start.problem).map_err(|e| format!("problem: {e}"))?;
    let mut robots = Vec::new();
    for (action, skill) in &binding.actions {
        let Some(p) = domain
            .action(action)
            .and_then(|a| a.params.iter().find(|p| p.name == skill.robot))
        else {
            continue;
        };
        for (o, t) in &problem.objects {
            if domain.fits(*t, &p.types) && !robots.contains(o) {
                robots.push(o.clone());
            }
        }
    }
    for robot in &robots {
        for (atom, value) in perceive(robot) {
            let Some(body) = atom.strip_prefix('(').and_then(|a| a.strip_suffix(')')) else {
                continue;
            };
            let mut words = body.split_whitespace();
            let Some(pred) = words.next().and_then(|w| domain.predicate(w)) else {
                continue;
            };
            let fact = (pred, words.map(str::to_string).collect::<Vec<_>>());
            let known = problem.init.iter().position(|f| *f == fact);
            match (value, known) {
                (true, None) => problem.init.push(fact),
                (false, Some(i)) => {
                    problem.init.swap_remove(i);
                }
                _ => {}
            }
        }
    }
    clea_domain::required::require_actions(&mut domain, &mut problem, &start.required_actions)
        .map_err(|e| format!("required actions: {e}"))?;
    // Under partial observability the problem's fluent facts are not the agent's to know: no
    // action is pruned for what they say.
    let task = match observability {
        Observability::Full => Task::ground_within(&domain, &problem, &Limits::default()),
        Observability::Partial => Task::ground_open(&domain, &problem, &Limits::default()),
    }
    .map_err(|e| format!("grounding: {e}"))?;
    Ok((task, binding))
}

#[derive(Debug, Clone, Copy)]
struct Mode {
    critic: bool,
    open_loop: bool,
}

impl Mode {
    fn name(self, obs: ObservabilityArg) -> String {
        let o = match obs {
            ObservabilityArg::Full => "full obs.",
            ObservabilityArg::Partial => "partial obs.",
        };
        let m = if self.open_loop {
            "open loop"
        } else if !self.critic {
            "critic off"
        } else {
            "full loop"
        };
        format!("clea symbolic, {m}, {o}")
    }

    /// File-name part of the mode, e.g. `full-loop`.
    fn slug(self) -> &'static str {
        if self.open_loop {
            "open-loop"
        } else if !self.critic {
            "critic-off"
        } else {
            "full-loop"
        }
    }
}

/// Start recording an episode into `dir/<mode>-<observability>-obs-<task>.mcap` (never overwriting), with the
/// instance and the mode as metadata and a `Reset` event.
async fn start_log(
    bus: &Bus,
    dir: &std::path::Path,
    mode: Mode,
    observability: &str,
    start: &TaskStart,
) -> Result<Recorder, CliError> {
    let path = unused_path(
        dir,
        &format!("{}-{observability}-obs-{}", mode.slug(), start.task),
    );
    let metadata = BTreeMap::from([
        ("benchmark".to_string(), "eai-virtualhome".to_string()),
        ("task".to_string(), start.task.clone()),
        ("task_name".to_string(), start.name.clone()),
        ("instruction".to_string(), start.instruction.clone()),
        ("mode".to_string(), mode.slug().to_string()),
        ("observability".to_string(), observability.to_string()),
    ]);
    let opts = RecorderOptions {
        metadata,
        ..RecorderOptions::default()
    };
    let recorder = Recorder::start(bus, &path, opts)
        .await
        .map_err(|e| CliError::Runtime(anyhow!("--log-dir: {e}")))?;
    let reset = EpisodeEvent::Reset {
        scenario: start.task.clone(),
        seed: 0,
    };
    bus.publish(&bus.keys.episode_event(), &reset).await?;
    Ok(recorder)
}

/// The scorer's success as the log's `Ended` event after `steps` skill calls (failed ones
/// included); then close the log.
async fn finish_log(
    bus: &Bus,
    recorder: Recorder,
    steps: u32,
    verdict: &TaskVerdict,
) -> Result<(), CliError> {
    let ended = EpisodeEvent::Ended {
        step: steps,
        success: verdict.success,
    };
    bus.publish(&bus.keys.episode_event(), &ended).await?;
    recorder
        .finish()
        .await
        .map_err(|e| CliError::Runtime(anyhow!("--log-dir: {e}")))?;
    Ok(())
}

/// Bad arguments, found before the simulator starts (exit 2).
fn check_args(args: &EaiArgs) -> Result<(), CliError> {
    let bad = |m: String| Err(CliError::Input(m));
    if !(args.plan_timeout_s.is_finite() && args.plan_timeout_s > 0.0 && args.plan_timeout_s <= 1e6)
    {
        return bad(format!(
            "--plan-timeout-s: {} is not a time in (0, 1e6] s",
            args.plan_timeout_s
        ));
    }
    if args.python.is_dir() {
        return bad(format!(
            "--python: {} is a folder, not a Python interpreter",
            args.python.display()
        ));
    }
    if let Some(dir) = &args.log_dir {
        if dir.exists() && !dir.is_dir() {
            return bad(format!("--log-dir: {} is not a folder", dir.display()));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Input(format!("--log-dir: {}: {e}", dir.display())))?;
    }
    if let Some(json) = &args.json {
        if json.is_dir() {
            return bad(format!("--json: {} is a folder", json.display()));
        }
        if let Some(parent) = json.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return bad(format!(
                    "--json: {}: no such folder {}",
                    json.display(),
                    parent.display()
                ));
            }
        }
    }
    Ok(())
}

/// Run the benchmark.
///
/// # Errors
/// [`CliError::Input`] for a missing simulator, Python or binding, or an unknown instance id;
/// [`CliError::Runtime`] when the simulator does not start or stops answering.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let Which::Eai(args) = args.which;
    check_args(&args)?;
    let binding_text = std::fs::read_to_string(&args.binding).map_err(|e| {
        CliError::Input(format!(
            "--binding: {}: {e} (run from the repository root, or pass --binding)",
            args.binding.display()
        ))
    })?;
    parse_binding(&binding_text)
        .map_err(|e| CliError::Input(format!("--binding: {}: {e}", args.binding.display())))?;
    let ns = format!("eai-{}", std::process::id());
    let (mut server, endpoint) = start_server(&args, &ns)?;
    let config = BusConfig {
        namespace: ns,
        connect: vec![endpoint],
        ..BusConfig::default()
    };
    let bus = Bus::open(&config).await?;
    let all = task::list(&bus, Duration::from_secs(30)).await?.tasks;
    let mut ids: Vec<String> = if args.ids.is_empty() {
        all.clone()
    } else {
        for id in &args.ids {
            if !all.contains(id) {
                return Err(CliError::Input(format!("--ids: no EAI instance {id:?}")));
            }
        }
        args.ids.clone()
    };
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if let Some(n) = args.limit {
        ids.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    let modes: Vec<Mode> = if args.all_modes {
        vec![
            Mode {
                critic: true,
                open_loop: false,
            },
            Mode {
                critic: false,
                open_loop: false,
            },
            Mode {
                critic: true,
                open_loop: true,
            },
        ]
    } else {
        vec![Mode {
            critic: args.critic == OnOff::On,
            open_loop: args.open_loop,
        }]
    };
    let observability = match args.observability {
        ObservabilityArg::Full => "full",
        ObservabilityArg::Partial => "partial",
    };
    let client = SkillClient::new(&bus);
    let bar = ProgressBar::new((ids.len() * modes.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::new();
    let mut records = Vec::new();
    let mut interrupted = false;
    'modes: for mode in &modes {
        let mut row = Row {
            agent: mode.name(args.observability),
            scored: 0,
            success: 0,
            executable: 0,
            errors: BTreeMap::new(),
        };
        for id in &ids {
            if clea_agent::episode::interrupted() {
                interrupted = true;
                rows.push(row);
                break 'modes;
            }
            server.check_alive()?;
            bar.set_message(format!("{} {id}", row.agent));
            let t0 = Instant::now();
            let req = TaskRequest {
                task: id.clone(),
                observability: observability.into(),
            };
            let start = match task::start(&bus, &req, Duration::from_secs(30)).await {
                Ok(s) => s,
                Err(e) => {
                    // An instance EAI's data cannot express (e.g. a goal on an object its
                    // problem lacks): counted, as the scorer would, only if it is scored.
                    // Printed whether or not the bar is drawn (a pipe hides it).
                    bar.suspend(|| eprintln!("clea: {id}: not loaded: {e}"));
                    records.push(EpisodeRecord {
                        mode: row.agent.clone(),
                        task: id.clone(),
                        name: String::new(),
                        scored: true,
                        agent_reason: format!("not loaded: {e}"),
                        seconds: t0.elapsed().as_secs_f64(),
                        verdict: None,
                    });
                    row.scored += 1;
                    bar.inc(1);
                    continue;
                }
            };
            if !start.scored {
                records.push(EpisodeRecord {
                    mode: row.agent.clone(),
                    task: id.clone(),
                    name: start.name.clone(),
                    scored: false,
                    agent_reason: "not scored: the gold plan fails EAI's scorer".into(),
                    seconds: 0.0,
                    verdict: None,
                });
                bar.inc(1);
                continue;
            }
            row.scored += 1;
            let recorder = match &args.log_dir {
                Some(dir) => Some(start_log(&bus, dir, *mode, observability, &start).await?),
                None => None,
            };
            let perceive = |robot: &str| -> Vec<(String, bool)> {
                let rt = Handle::current();
                tokio::task::block_in_place(|| {
                    rt.block_on(task::facts(&bus, robot, Duration::from_secs(10)))
                })
                .map(|o| o.facts.into_iter().map(|f| (f.atom, f.value)).collect())
                .unwrap_or_default()
            };
            let agent_observability = match args.observability {
                ObservabilityArg::Full => Observability::Full,
                ObservabilityArg::Partial => Observability::Partial,
            };
            let mut calls = 0;
            let loaded = load_task(&start, &binding_text, agent_observability, perceive);
            if let Err(e) = &loaded {
                bar.suspend(|| eprintln!("clea: {id}: the task does not load: {e}"));
            }
            let reason = match loaded {
                Err(e) => format!("the task does not load: {e}"),
                Ok((task, binding)) => {
                    let opts = DomainAgentOptions {
                        critic: mode.critic,
                        open_loop: mode.open_loop,
                        observability: agent_observability,
                        plan_timeout: Duration::from_secs_f64(args.plan_timeout_s),
                        ..DomainAgentOptions::default()
                    };
                    let (bus_ref, client_ref) = (&bus, &client);
                    let max_steps = args.max_steps;
                    let rt = Handle::current();
                    // The loop is synchronous (pure logic); it blocks on the bus from a
                    // blocking thread.
                    tokio::task::block_in_place(|| {
                        let mut env = BusEnv {
                            rt,
                            bus: bus_ref,
                            client: client_ref,
                            task: &task,
                            binding: &binding,
                            steps: 0,
                            max_steps,
                        };
                        let out = run_domain_episode(&task, &binding, &mut env, &opts);
                        calls = out.executed.len() as u32;
                        out.reason
                    })
                }
            };
            let end = TaskEnd {
                task: id.clone(),
                reason: reason.clone(),
            };
            let verdict = match task::end(&bus, &end, Duration::from_secs(30)).await {
                Ok(v) => v,
                Err(e) => {
                    server.check_alive()?;
                    return Err(CliError::Runtime(
                        anyhow!(e).context(format!("{id}: the scorer did not answer")),
                    ));
                }
            };
            if let Some(recorder) = recorder {
                finish_log(&bus, recorder, calls, &verdict).await?;
            }
            if verdict.success {
                row.success += 1;
            }
            match verdict.details.get("first_error").and_then(|e| e.as_str()) {
                Some(e) => *row.errors.entry(e.to_string()).or_default() += 1,
                // An episode that never ran is not "executable".
                None if reason.starts_with("the task does not load") => {}
                None => row.executable += 1,
            }
            records.push(EpisodeRecord {
                mode: row.agent.clone(),
                task: id.clone(),
                name: start.name.clone(),
                scored: true,
                agent_reason: reason,
                seconds: t0.elapsed().as_secs_f64(),
                verdict: Some(verdict),
            });
            bar.inc(1);
        }
        rows.push(row);
    }
    bar.finish_and_clear();
    if !args.no_bundled && !interrupted {
        rows.extend(bundled_rows(&args, &ids)?);
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "rows": rows,
            "episodes": records,
        }))
        .expect("records serialize");
        // The table is printed even when the file cannot be written.
        if let Err(e) = std::fs::write(path, text) {
            println!("{}", render(&rows));
            return Err(CliError::Runtime(anyhow!(
                "--json: {}: {e}",
                path.display()
            )));
        }
    }
    println!("{}", render(&rows));
    if interrupted {
        return Err(CliError::Interrupted);
    }
    Ok(())
}

/// EAI's scorer on the bundled models' outputs for `ids` (`sim/eai/bundled.py`).
fn bundled_rows(args: &EaiArgs, ids: &[String]) -> Result<Vec<Row>, CliError> {
    let script = args.server_dir.join("bundled.py");
    let spinner = ProgressBar::new_spinner();
    spinner.set_message("EAI's scorer on the 15 bundled models' outputs");
    spinner.enable_steady_tick(Duration::from_millis(200));
    let out = Command::new(&args.python)
        .arg(&script)
        .arg("--ids")
        .arg(ids.join(","))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| CliError::Runtime(anyhow!("cannot run {}: {e}", script.display())))?;
    spinner.finish_and_clear();
    if !out.status.success() {
        return Err(CliError::Runtime(anyhow!(
            "{} failed ({})",
            script.display(),
            out.status
        )));
    }
    let rows: Vec<Row> = serde_json::from_slice::<Vec<BundledRow>>(&out.stdout)
        .map_err(|e| CliError::Runtime(anyhow!("{}: unreadable output: {e}", script.display())))?
        .into_iter()
        .map(|b| Row {
            agent: b.model,
            scored: b.scored,
            success: b.success,
            executable: b.executable,
            errors: b.errors,
        })
        .collect();
    Ok(rows)
}

#[derive(Debug, serde::Deserialize)]
struct BundledRow {
    model: String,
    scored: usize,
    success: usize,
    executable: usize,
    errors: BTreeMap<String, usize>,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.1}", 100.0 * n as f64 / d as f64)
    }
}

/// The table: one row per agent, EAI's task success and execution success (% of the scored
/// instances) and the first error types.
fn render(rows: &[Row]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    t.set_header([
        "agent",
        "scored",
        "task success %",
        "executable %",
        "first errors",
    ]);
    for r in rows {
        let errors: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
        t.add_row([
            r.agent.clone(),
            r.scored.to_string(),
            pct(r.success, r.scored),
            pct(r.executable, r.scored),
            errors.join(", "),
        ]);
    }
    t.to_string()
}
