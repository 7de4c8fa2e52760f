//! The episode driver: runs the [`crate::controller`] state machine, doing the bus I/O of the
//! state it is in (a request to the observer, memory, planner, critic or executor actor) and
//! feeding the outcome back as an event. Every transition is published on
//! `clea/<ns>/episode/transition`; tracing spans `episode` > `step` > `module` time each part.

use crate::actors::{ActorKind, CallFailure, ModuleClient};
use crate::belief::BeliefView;
use crate::controller::{is_terminal, CheckedPlan, Controller, ControllerConfig, Event, State};
use crate::report::EpisodeReport;
use crate::AgentError;
use clea_bus::msg::{
    ActionRecord, Belief, CritiqueRequest, CritiqueTrigger, EStop, EpisodeEnd, EpisodeScore,
    ExecuteRequest, MemoryRequest, ModelCall, ModelUsage, Observation, ObserveRequest, Plan,
    PlanRequest, SkillCall, TaskSpec, Transition, Verdict,
};
use clea_bus::{episode, Bus, Subscription};
use clea_skills::{validate, Action, TaskScope};
use statig::blocking::{IntoStateMachineExt as _, StateMachine};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Settings of one episode.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeOptions {
    /// Seed passed to the simulator (`None`: the scenario's).
    pub seed: Option<u64>,
    /// Controller settings and ablations.
    pub controller: ControllerConfig,
    /// Most time a module (observer, memory, planner, critic) may take per request.
    pub module_timeout: Duration,
    /// Most time a skill may take after acceptance (the executor cancels it then).
    pub skill_timeout: Duration,
    /// How long to wait for the simulator's episode service.
    pub service_timeout: Duration,
    /// Most model calls per episode (all modules together).
    pub max_model_calls: u32,
    /// Most model tokens (prompt + completion) per episode.
    pub max_model_tokens: u64,
    /// Wall-time budget replacing the scenario's (a CPU-hosted model needs more time).
    pub max_wall_time: Option<Duration>,
}

impl Default for EpisodeOptions {
    fn default() -> Self {
        Self {
            seed: None,
            controller: ControllerConfig::default(),
            module_timeout: Duration::from_secs(30),
            skill_timeout: Duration::from_secs(30),
            service_timeout: Duration::from_secs(10),
            max_model_calls: 500,
            max_model_tokens: 2_000_000,
            max_wall_time: None,
        }
    }
}

/// Everything the driver keeps between states.
struct Io {
    modules: ModuleClient,
    bus: Bus,
    task: TaskSpec,
    opts: EpisodeOptions,
    initial: Vec<clea_bus::msg::RobotObservation>,
    observation: Option<Observation>,
    belief: Option<Belief>,
    last: Option<ActionRecord>,
    /// The call that failed last and how many times in a row it failed.
    failing: Option<(SkillCall, u32)>,
    reset: bool,
    usage: ModelUsage,
}

/// Run one closed-loop episode against the robots and the simulator's episode service on `bus`,
/// with the module actors already running there. Ends with the simulator's score.
///
/// # Errors
/// [`AgentError::Bus`] when the simulator's episode service does not answer the start. Module,
/// skill and scoring failures do not error: they end the episode cleanly, with the reason in the
/// report.
pub async fn run_episode(bus: &Bus, opts: &EpisodeOptions) -> Result<EpisodeReport, AgentError> {
    let t0 = Instant::now();
    let estop: Subscription<EStop> = bus.subscribe(&bus.keys.estop()).await?;
    let start = episode::start(bus, opts.seed, opts.service_timeout).await?;
    let task = start.task;
    let span = tracing::info_span!("episode", scenario = %task.scenario, seed = task.seed);
    let mut io = Io {
        modules: ModuleClient::new(bus),
        bus: bus.clone(),
        task: task.clone(),
        opts: *opts,
        initial: start.observations,
        observation: None,
        belief: None,
        last: None,
        failing: None,
        reset: true,
        usage: ModelUsage::default(),
    };
    let mut sm = Controller::new(opts.controller).state_machine();
    let wall = opts
        .max_wall_time
        .unwrap_or(Duration::from_secs_f64(task.max_wall_time_s));
    // Model calls are counted from their log records, failed and repaired ones included.
    let model_calls: Subscription<ModelCall> = bus.subscribe(&bus.keys.model_call()).await?;
    async {
        sm.handle(&Event::Start);
        let mut published = 0;
        loop {
            publish_transitions(&io, &sm, &mut published).await;
            while let Some((_, call)) = model_calls.try_recv() {
                io.usage.add(&call.usage);
            }
            if is_terminal(sm.state()) {
                break;
            }
            let event = if let Some(e) = engaged(&estop) {
                Event::EStop(e.reason)
            } else if interrupted() {
                operator_stop(bus).await
            } else if t0.elapsed() > wall {
                Event::BudgetExceeded(format!(
                    "wall-time budget of {} s used up",
                    wall.as_secs_f64()
                ))
            } else if io.usage.calls >= opts.max_model_calls {
                Event::BudgetExceeded(format!(
                    "model-call budget of {} used up",
                    opts.max_model_calls
                ))
            } else if io.usage.prompt_tokens + io.usage.completion_tokens >= opts.max_model_tokens {
                Event::BudgetExceeded(format!(
                    "model-token budget of {} used up",
                    opts.max_model_tokens
                ))
            } else {
                let step = sm.counters.steps;
                let span = tracing::info_span!("step", step, state = sm.state().name());
                // The wall-time budget also ends a module call in flight (a hung model endpoint);
                // a skill in flight is bounded by its own timeout and reports how it ended.
                let module_call = !matches!(sm.state(), State::Executing { .. });
                tokio::select! {
                    biased;
                    Some(e) = wait_engaged(&estop) => Event::EStop(e.reason),
                    _ = INTERRUPT.notify.notified() => operator_stop(bus).await,
                    _ = tokio::time::sleep_until((t0 + wall).into()), if module_call => {
                        Event::BudgetExceeded(format!(
                            "wall-time budget of {} s used up (while {})",
                            wall.as_secs_f64(),
                            sm.state().name()
                        ))
                    }
                    ev = io.act(&sm).instrument(span) => ev,
                }
            };
            sm.handle(&event);
        }
    }
    .instrument(span)
    .await;
    let (declared_done, mut reason) = match sm.state() {
        State::Done {} => (true, "the planner declared the task done".to_string()),
        State::Failed { reason } | State::Stopped { reason } => (false, reason.clone()),
        s => (false, format!("ended in {}", s.name())),
    };
    let believed = io
        .belief
        .as_ref()
        .map(|b| BeliefView::new(b, &task.vocabulary).believed_locations())
        .unwrap_or_default();
    let c = sm.counters;
    let end = EpisodeEnd {
        declared_done,
        reason: reason.clone(),
        believed_locations: believed,
        invalid_calls: c.invalid_calls,
    };
    let score = match episode::end(bus, &end, opts.service_timeout).await {
        Ok(score) => score,
        Err(e) => {
            // The simulator is gone: report the episode as lost, with what the agent knows.
            reason = format!("{reason}; the episode was not scored: {e}");
            EpisodeScore {
                success: false,
                score: 0.0,
                goals_met: vec![],
                goals_unmet: task.goals.clone(),
                steps: c.steps,
                skill_failures: 0,
                invalid_calls: c.invalid_calls,
                perturbations: 0,
            }
        }
    };
    if declared_done && !score.success && !score.goals_unmet.is_empty() {
        reason = format!("declared done, but unmet: {}", score.goals_unmet.join(", "));
    }
    let mut report = EpisodeReport::new(
        &task.scenario,
        task.seed,
        score,
        reason,
        t0.elapsed().as_secs_f64(),
    );
    report.critic_rejections = c.critic_rejections;
    report.replans = c.replans;
    report.model_calls = io.usage.calls;
    report.prompt_tokens = io.usage.prompt_tokens;
    report.completion_tokens = io.usage.completion_tokens;
    report.cached_prompt_tokens = io.usage.cached_prompt_tokens;
    report.model_latency_s = io.usage.latency_s;
    Ok(report)
}

/// Process-wide operator interrupt (Ctrl-C): see [`interrupt`].
struct Interrupt {
    flag: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

static INTERRUPT: Interrupt = Interrupt {
    flag: std::sync::atomic::AtomicBool::new(false),
    notify: tokio::sync::Notify::const_new(),
};

/// Ask every running episode of this process to stop: each engages the e-stop on its bus (the
/// robots cancel their goals) and ends as `Stopped`, so its log is closed and its report kept.
/// Called by the `clea` binary on SIGINT/SIGTERM.
pub fn interrupt() {
    INTERRUPT
        .flag
        .store(true, std::sync::atomic::Ordering::SeqCst);
    INTERRUPT.notify.notify_waiters();
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPT.flag.load(std::sync::atomic::Ordering::SeqCst)
}

/// Resolves once [`interrupt`] has been called (at once if it already was).
pub async fn wait_for_interrupt() {
    loop {
        let notified = INTERRUPT.notify.notified();
        if interrupted() {
            return;
        }
        notified.await;
    }
}

async fn operator_stop(bus: &Bus) -> Event {
    let reason = "operator interrupt".to_string();
    let e = EStop {
        engaged: true,
        reason: reason.clone(),
    };
    if let Err(err) = bus.publish(&bus.keys.estop(), &e).await {
        tracing::warn!(error = %err, "cannot publish the e-stop");
    }
    Event::EStop(reason)
}

fn engaged(sub: &Subscription<EStop>) -> Option<EStop> {
    std::iter::from_fn(|| sub.try_recv().map(|(_, e)| e)).find(|e| e.engaged)
}

async fn wait_engaged(sub: &Subscription<EStop>) -> Option<EStop> {
    while let Some((_, e)) = sub.recv().await {
        if e.engaged {
            return Some(e);
        }
    }
    std::future::pending().await
}

async fn publish_transitions(io: &Io, sm: &StateMachine<Controller>, published: &mut usize) {
    for (from, to) in &sm.transitions[*published..] {
        tracing::debug!(from, to, "transition");
        let t = Transition {
            step: sm.counters.steps,
            from: from.to_string(),
            to: to.to_string(),
        };
        if let Err(e) = io.bus.publish(&io.bus.keys.transition(), &t).await {
            tracing::warn!(error = %e, "cannot publish transition");
        }
    }
    *published = sm.transitions.len();
}

/// Why `a` is outside the task's scope, if it is: it moves an object that the task neither
/// names in its goals nor states a place for, and that no robot holds according to `belief`
/// ([`TaskScope`]: an instruction injected through an observation, such as "put everything in
/// the trash", cannot reach other objects).
pub fn out_of_scope(task: &TaskSpec, belief: Option<&Belief>, a: &Action) -> Option<String> {
    TaskScope::of(task, belief).refuses(a)
}

fn failed(e: CallFailure) -> Event {
    Event::ModuleFailed(e.to_string())
}

impl Io {
    /// Do the I/O of the state `sm` is in; return the event it produced.
    async fn act(&mut self, sm: &StateMachine<Controller>) -> Event {
        let t = self.opts.module_timeout;
        let steps = sm.counters.steps;
        match sm.state() {
            State::Observing {} => {
                let req = ObserveRequest {
                    step: steps,
                    robots: std::mem::take(&mut self.initial),
                    // Once per episode: the observer keeps it.
                    vocabulary: (steps == 0).then(|| self.task.vocabulary.clone()),
                };
                match self
                    .modules
                    .call::<_, Observation>(ActorKind::Observer, &req, t)
                    .await
                {
                    Ok(o) => {
                        self.observation = Some(o);
                        Event::ObservationReady
                    }
                    Err(e) => failed(e),
                }
            }
            State::Summarizing {} => {
                let req = MemoryRequest {
                    reset: self.reset.then(|| self.task.clone()),
                    observation: self
                        .observation
                        .clone()
                        .expect("observed before summarizing"),
                    action: self.last.as_ref().map(|r| r.call.clone()),
                    outcome: self.last.as_ref().map(|r| r.outcome.clone()),
                };
                match self
                    .modules
                    .call::<_, Belief>(ActorKind::Memory, &req, t)
                    .await
                {
                    Ok(b) => {
                        self.reset = false;
                        let contradictions = b.contradictions.clone();
                        self.belief = Some(b);
                        Event::BeliefReady { contradictions }
                    }
                    Err(e) => failed(e),
                }
            }
            State::Planning {} => {
                let req = PlanRequest {
                    task: self.task.clone(),
                    belief: self.belief.clone().expect("belief before planning"),
                    observation: self
                        .observation
                        .clone()
                        .expect("observation before planning"),
                    feedback: sm.feedback.clone(),
                    subgoal: sm.subgoal.clone(),
                    max_actions: if sm.config.open_loop {
                        self.task.max_steps
                    } else {
                        5
                    },
                };
                match self
                    .modules
                    .call::<_, Plan>(ActorKind::Planner, &req, t)
                    .await
                {
                    Ok(p) => Event::PlanReady(self.check(&p)),
                    Err(e) => failed(e),
                }
            }
            State::Verifying {} | State::Critiquing {} => {
                let req = CritiqueRequest {
                    task: self.task.clone(),
                    belief: self.belief.clone().expect("belief before critique"),
                    observation: self
                        .observation
                        .clone()
                        .expect("observation before critique"),
                    action: sm.current.as_ref().map(|a| a.to_call()),
                    subgoal: sm.subgoal.clone().unwrap_or_default(),
                    trigger: match (&sm.current, sm.first_of_plan) {
                        (None, _) => CritiqueTrigger::DoneClaim,
                        (Some(_), true) => CritiqueTrigger::NewPlan,
                        (Some(_), false) => CritiqueTrigger::NextInPlan,
                    },
                };
                match self
                    .modules
                    .call::<_, Verdict>(ActorKind::Critic, &req, t)
                    .await
                {
                    Ok(v) => Event::Verdict {
                        feasible: v.feasible,
                        feedback: v.feedback,
                    },
                    Err(e) => failed(e),
                }
            }
            State::Executing {} => {
                if steps >= self.task.max_steps {
                    let mut why = format!("step budget of {} used up", self.task.max_steps);
                    // Say so when skills ran out of time: the robot, not the plan, is stuck.
                    if let Some(r) = self
                        .last
                        .as_ref()
                        .filter(|r| r.outcome == clea_bus::msg::SkillOutcome::TimedOut)
                    {
                        why.push_str(&format!(
                            " (the last skill, {}, timed out after {} s)",
                            r.call,
                            self.opts.skill_timeout.as_secs_f64()
                        ));
                    }
                    return Event::BudgetExceeded(why);
                }
                let action = sm.current.as_ref().expect("executing has an action");
                let req = ExecuteRequest {
                    step: steps + 1,
                    call: action.to_call(),
                };
                // The executor cancels the skill at `skill_timeout`; allow it time to answer.
                let timeout = self.opts.skill_timeout + Duration::from_secs(10);
                match self
                    .modules
                    .call::<_, ActionRecord>(ActorKind::Executor, &req, timeout)
                    .await
                {
                    Ok(r) => {
                        self.failing = match (r.outcome.is_success(), self.failing.take()) {
                            (true, _) => None,
                            (false, Some((c, n))) if c == r.call => Some((c, n + 1)),
                            (false, _) => Some((r.call.clone(), 1)),
                        };
                        let text = r.outcome.to_string();
                        let ev = Event::SkillDone {
                            success: r.outcome.is_success(),
                            unreachable: matches!(
                                r.outcome,
                                clea_bus::msg::SkillOutcome::Unreachable { .. }
                            ),
                            outcome: text,
                        };
                        self.last = Some(r);
                        ev
                    }
                    Err(e) => failed(e),
                }
            }
            s => Event::ModuleFailed(format!("nothing to do in state {}", s.name())),
        }
    }

    /// Whether `call` is the one that already failed `max_repeated_failures` times in a row.
    fn repeats_failure(&self, call: &SkillCall) -> bool {
        self.failing.as_ref().is_some_and(|(c, n)| {
            c == call && *n >= self.opts.controller.limits.max_repeated_failures
        })
    }

    /// Validate every call of `plan` against the pool, the world and the task's scope, and
    /// refuse a call that keeps failing: model text becomes an action only here.
    fn check(&self, plan: &Plan) -> CheckedPlan {
        let mut actions = Vec::new();
        let mut invalid = Vec::new();
        for call in &plan.actions {
            match validate(call, &self.task.vocabulary) {
                Ok(_) if self.repeats_failure(call) => {
                    let n = self.failing.as_ref().map_or(0, |(_, n)| *n);
                    let last = self
                        .last
                        .as_ref()
                        .map(|r| r.outcome.to_string())
                        .unwrap_or_default();
                    invalid.push(format!(
                        "{call}: failed {n} times in a row (last: {last}); choose another action"
                    ));
                }
                Ok(a) => match out_of_scope(&self.task, self.belief.as_ref(), &a) {
                    Some(why) => invalid.push(format!("{call}: {why}")),
                    None => actions.push(a),
                },
                Err(e) => invalid.push(format!("{call}: {e}")),
            }
        }
        if !invalid.is_empty() {
            actions.clear();
        }
        CheckedPlan {
            done: plan.done,
            subgoal: plan.subgoal.clone(),
            actions,
            invalid,
        }
    }
}
