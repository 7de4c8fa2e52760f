//! The closed loop over any domain written as data, with the symbolic backends: the belief is a
//! fact set (initially what the problem states), updated by each robot's perception and by the
//! predicted effects of each executed skill; the planner is `clea_domain`'s heuristic search on
//! the belief; the rule critic checks each action's precondition on the belief and names the
//! unmet literal; a rejection, a failed skill or an exhausted plan triggers replanning.
//!
//! Pure logic over a [`DomainEnv`] (the simulator, or a robot adapter), tested without zenoh.

use crate::domain_belief::Belief;
use clea_domain::binding::Binding;
pub use clea_domain::binding::Observability;
use clea_domain::call::{unmet_precondition, validate_positional, Call};
use clea_domain::search::{plan_for, Limits, Plan, SearchError};
use clea_domain::{AtomId, Cond, State, Task};
use std::time::{Duration, Instant};

/// What the loop acts on: executes skill calls and reports what robots perceive.
pub trait DomainEnv {
    /// Execute a validated call (one step); `Err` with the reason it failed.
    ///
    /// # Errors
    /// The robot's reason, e.g. the unmet precondition.
    fn execute(&mut self, call: &Call) -> Result<(), String>;
    /// What `robot` perceives now: facts and their values.
    fn perceive(&self, robot: &str) -> Vec<(AtomId, bool)>;
    /// Whether the step budget is used up.
    fn out_of_steps(&self) -> bool;
}

/// Settings of one episode.
#[derive(Debug, Clone)]
pub struct DomainAgentOptions {
    /// Check each action on the belief before executing it (`false`: the no-critic ablation).
    pub critic: bool,
    /// Plan once and execute blindly (the open-loop ablation).
    pub open_loop: bool,
    /// Time for one search (s).
    pub plan_timeout: Duration,
    /// Critic rejections in a row before the episode ends.
    pub max_rejections_in_a_row: u32,
    /// What the agent knows at the start: everything (the problem's initial state) or only
    /// what its robots perceive ([`Belief`]).
    pub observability: Observability,
}

/// Searches that found an object nowhere (every assumption refuted) before the goals that need
/// it are reported impossible; between them the belief forgets what is not perceived, since
/// people move things into places already searched.
pub const GIVE_UP_SWEEPS: u32 = 2;

impl Default for DomainAgentOptions {
    /// Critic on, closed loop, 30 s per search, 5 rejections in a row.
    fn default() -> Self {
        DomainAgentOptions {
            critic: true,
            open_loop: false,
            plan_timeout: Duration::from_secs(30),
            max_rejections_in_a_row: 5,
            observability: Observability::Full,
        }
    }
}

/// How an episode went, from the agent's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainOutcome {
    /// Why it ended.
    pub reason: String,
    /// Critic rejections.
    pub critic_rejections: u32,
    /// Plans made after the first.
    pub replans: u32,
    /// Searches begun again from scratch: the belief forgot what was out of view because no
    /// plan found a goal's object anywhere the assumptions allowed (at most
    /// [`GIVE_UP_SWEEPS`] − 1).
    pub sweeps: u32,
    /// Skill calls executed (failed ones included).
    pub executed: Vec<String>,
    /// Goal literals found impossible (no plan reaches them from the belief), as PDDL text;
    /// the other goals were pursued without them.
    pub impossible_goals: Vec<String>,
}

/// The goal's independent parts: the conjuncts of its top-level `and` (the whole goal when it
/// is not a conjunction).
pub fn goal_parts(goal: &Cond) -> Vec<Cond> {
    match goal {
        Cond::And(parts) => parts.clone(),
        Cond::True => Vec::new(),
        g => vec![g.clone()],
    }
}

/// Plan for as many of `goals` as can be reached together from `belief`: the whole conjunction
/// first; when no plan exists, each part alone (those with no plan are impossible), then the
/// possible parts added one at a time while a plan still reaches them all together. Returns the
/// plan and the impossible parts (indices into `goals`).
///
/// # Errors
/// [`SearchError::Timeout`] or [`SearchError::Cancelled`] from any search; `Unsolvable` only
/// when every part is impossible.
pub fn plan_pursuable(
    task: &Task,
    belief: &State,
    goals: &[Cond],
    limits: &Limits,
) -> Result<(Plan, Vec<usize>), SearchError> {
    let all = Cond::And(goals.to_vec());
    match plan_for(task, belief, &all, limits) {
        Err(SearchError::Unsolvable) => {}
        other => return other.map(|p| (p, Vec::new())),
    }
    let mut impossible = Vec::new();
    let mut together: Vec<Cond> = Vec::new();
    let mut best = None;
    for (i, g) in goals.iter().enumerate() {
        match plan_for(task, belief, g, limits) {
            Err(SearchError::Unsolvable) => {
                impossible.push(i);
                continue;
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        together.push(g.clone());
        match plan_for(task, belief, &Cond::And(together.clone()), limits) {
            Ok(p) => best = Some(p),
            // Possible alone but not with the ones before: dropped for now (a later plan, from
            // a state where the others hold, may still reach it).
            Err(SearchError::Unsolvable) => {
                together.pop();
            }
            Err(e) => return Err(e),
        }
    }
    best.map(|p| (p, impossible)).ok_or(SearchError::Unsolvable)
}

/// The robots of a task: objects that fill some skill's robot parameter.
pub fn robots(task: &Task, binding: &Binding) -> Vec<String> {
    let mut out = Vec::new();
    for (name, skill) in &binding.actions {
        let Some(schema) = task.domain.action(name) else {
            continue;
        };
        let Some(p) = schema.params.iter().find(|p| p.name == skill.robot) else {
            continue;
        };
        for (o, t) in task.objects.iter().zip(&task.object_types) {
            if task.domain.fits(*t, &p.types) && !out.contains(o) {
                out.push(o.clone());
            }
        }
    }
    out
}

/// What all robots perceive now.
fn perceive(env: &dyn DomainEnv, robots: &[String]) -> Vec<(AtomId, bool)> {
    robots.iter().flat_map(|r| env.perceive(r)).collect()
}

/// Run one episode of the closed loop (or an ablation) until the goal holds in the belief, no
/// plan exists, a budget is used up, or the critic rejects too often.
pub fn run_domain_episode(
    task: &Task,
    binding: &Binding,
    env: &mut dyn DomainEnv,
    opts: &DomainAgentOptions,
) -> DomainOutcome {
    let robots = robots(task, binding);
    let mut belief = match opts.observability {
        Observability::Full => Belief::full(task),
        Observability::Partial => Belief::partial(task),
    };
    belief.observe(&perceive(env, &robots));
    let mut out = DomainOutcome {
        reason: String::new(),
        critic_rejections: 0,
        replans: 0,
        sweeps: 0,
        executed: Vec::new(),
        impossible_goals: Vec::new(),
    };
    // The goals pursued: all of them until one is found impossible.
    let mut goals = goal_parts(&task.goal);
    let mut plan: Vec<Call> = Vec::new();
    let mut planned = false;
    let mut rejections_in_a_row = 0;
    // What the episode taught about the domain model: a predicted effect that the robots'
    // perception refuted twice after a successful call is a promise the world does not keep
    // (walking to the freezer does not bring the robot next to what stands beside it); it is
    // left out of later plans. A call that fails twice with nothing in the belief to explain
    // it has a precondition the model does not state; it is left out whole.
    let mut lessons = Lessons::default();
    // Planned and judged on the complemented task, whose states can leave a fact open (see
    // `Belief`); its actions are the task's, in the same order.
    let open = task.complemented();
    let mut planning = std::borrow::Cow::Borrowed(&open);
    loop {
        if goals.iter().all(|g| belief.holds_known(task, g)) {
            out.reason = if out.impossible_goals.is_empty() {
                "done: the goal holds in the belief".into()
            } else {
                format!(
                    "done: {} of {} goals hold in the belief; impossible: {}",
                    goals.len(),
                    goals.len() + out.impossible_goals.len(),
                    out.impossible_goals.join(", ")
                )
            };
            return out;
        }
        if env.out_of_steps() {
            out.reason = "step budget used up".into();
            return out;
        }
        if plan.is_empty() {
            if planned && opts.open_loop {
                out.reason = "open loop: the plan is executed and the goal is not reached".into();
                return out;
            }
            let limits = Limits {
                deadline: Some(Instant::now() + opts.plan_timeout),
                ..Limits::default()
            };
            let view = belief.view(&open);
            let open_goals: Vec<Cond> = goals.iter().map(|g| open.positive_form(g)).collect();
            let found = match plan_pursuable(&planning, &view, &open_goals, &limits) {
                Ok((_, impossible))
                    if !impossible.is_empty()
                        && out.sweeps + 1 < GIVE_UP_SWEEPS
                        && !belief.is_full() =>
                {
                    // Searched everywhere the assumptions allowed: look again from scratch.
                    out.sweeps += 1;
                    tracing::info!(
                        sweeps = out.sweeps,
                        "not found anywhere; forgetting what is not in view and searching again"
                    );
                    belief.forget_all_but(task, &perceive(env, &robots));
                    continue;
                }
                Err(SearchError::Unsolvable)
                    if out.sweeps + 1 < GIVE_UP_SWEEPS && !belief.is_full() =>
                {
                    out.sweeps += 1;
                    belief.forget_all_but(task, &perceive(env, &robots));
                    continue;
                }
                Ok((p, impossible)) => {
                    for i in &impossible {
                        let text = task.cond_text(&goals[*i]);
                        tracing::warn!(goal = %text, "no plan reaches this goal; pursuing the others");
                        out.impossible_goals.push(text);
                    }
                    let mut k = 0;
                    goals.retain(|_| {
                        k += 1;
                        !impossible.contains(&(k - 1))
                    });
                    p
                }
                Err(e) => {
                    if e == SearchError::Timeout {
                        tracing::warn!(
                            timeout_s = opts.plan_timeout.as_secs_f64(),
                            "the planner's search ran out of time"
                        );
                    }
                    out.reason = format!("planner: {e}");
                    if !out.impossible_goals.is_empty() || goals.len() > 1 {
                        out.reason += &format!(" (goals: {})", task.cond_text(&Cond::And(goals)));
                    }
                    return out;
                }
            };
            out.replans += u32::from(planned);
            planned = true;
            tracing::debug!(
                plan = %found.actions.iter().map(|a| task.action_text(*a)).collect::<Vec<_>>().join(" "),
                "plan"
            );
            for a in found.actions {
                let (name, args) = task.action_call(a);
                // World dynamics are not called: the world applies them after the step before.
                if binding.dynamics.iter().any(|d| d == name) {
                    continue;
                }
                match validate_positional(task, binding, name, &args) {
                    Ok(c) => plan.push(c),
                    Err(e) => {
                        out.reason = format!("planner proposed an invalid call: {e}");
                        return out;
                    }
                }
            }
            if plan.is_empty() {
                // Only dynamics are left to happen: one more observation decides.
                out.reason = "done: only the world's own dynamics are left".into();
                return out;
            }
        }
        let call = plan.remove(0);
        let refs: Vec<&str> = call.args.iter().map(String::as_str).collect();
        if opts.critic && !opts.open_loop {
            let feasible = task
                .find_action(&call.skill, &refs)
                .is_some_and(|a| open.applicable(a, &belief.view(&open)));
            if !feasible {
                // Named on the known facts alone (unknown ones false), for the log.
                let unmet = unmet_precondition(task, &belief.known_state(task), &call)
                    .unwrap_or_else(|| "its precondition on what the belief leaves open".into());
                out.critic_rejections += 1;
                rejections_in_a_row += 1;
                tracing::debug!(%call, %unmet, "critic rejects");
                if rejections_in_a_row >= opts.max_rejections_in_a_row {
                    out.reason = format!("critic rejected {rejections_in_a_row} actions in a row (last: {call}: {unmet})");
                    return out;
                }
                plan.clear();
                continue;
            }
        }
        rejections_in_a_row = 0;
        out.executed.push(call.to_string());
        let result = env.execute(&call);
        if result.is_ok() {
            // Predict the effects and the world's dynamics as the world runs them; what the
            // robots perceive overrides the prediction.
            let before = belief.view(&open);
            let mut after = before.clone();
            if let Some(a) = task.find_action(&call.skill, &refs) {
                if open.applicable(a, &before) {
                    after = open.apply(a, &before);
                }
            }
            belief.predict(&open, &before, &after);
            let known = belief.known_state(task);
            let settled = task.settle(&binding.dynamics, known.clone());
            belief.predict(task, &known, &settled);
            if !opts.open_loop {
                belief.observe(&perceive(env, &robots));
                let now = belief.view(&open);
                let refuted: Vec<AtomId> = (0..task.atoms.len() as AtomId)
                    .filter(|a| !task.derived[*a as usize])
                    .filter(|a| before.get(*a) != after.get(*a) && now.get(*a) == before.get(*a))
                    .collect();
                if let Some(a) = task.find_action(&call.skill, &refs) {
                    if lessons.refuted(task, &mut planning, a, &refuted) {
                        plan.clear();
                    }
                }
            }
        } else if !opts.open_loop {
            plan.clear();
            // The failure refutes what the plan assumed about the call's preconditions; only
            // a failure the belief cannot explain counts towards leaving the call out.
            let explained = task.find_action(&call.skill, &refs).is_some_and(|a| {
                let pre = &open.actions[a].pre;
                belief.refute_assumption(&open, pre) || belief.doubt_assumptions(&open, pre)
            });
            belief.observe(&perceive(env, &robots));
            if !explained {
                if let Some(a) = task.find_action(&call.skill, &refs) {
                    lessons.failed(task, &mut planning, a);
                }
            }
        }
    }
}

/// What perception and failures taught about the domain model in one episode (see
/// [`run_domain_episode`]), applied to the task the planner searches.
#[derive(Debug, Default)]
struct Lessons {
    /// (ground action, atom) → times perception refuted that predicted effect.
    refuted: std::collections::HashMap<(usize, AtomId), u32>,
    /// Ground action → unexplained failures.
    failed: std::collections::HashMap<usize, u32>,
}

impl Lessons {
    /// Perception refuted these predicted effects of action `a`; the second time for an effect,
    /// it is removed from `a` in `planning`. Returns whether `planning` changed.
    fn refuted(
        &mut self,
        task: &Task,
        planning: &mut std::borrow::Cow<'_, Task>,
        a: usize,
        atoms: &[AtomId],
    ) -> bool {
        let mut changed = false;
        for atom in atoms {
            let n = self.refuted.entry((a, *atom)).or_default();
            *n += 1;
            if *n == 2 {
                // What the episode learned: info, not a warning (a normal search meets it).
                tracing::info!(
                    call = %task.action_text(a),
                    effect = %task.atom_text(*atom),
                    "perception refutes this predicted effect twice; planning without it"
                );
                let planning = planning.to_mut();
                let complement = planning.complement(*atom);
                for e in &mut planning.actions[a].effects {
                    let kept = |x: &AtomId| x != atom && Some(*x) != complement;
                    e.add.retain(kept);
                    e.del.retain(kept);
                }
                changed = true;
            }
        }
        changed
    }

    /// Action `a` failed with nothing in the belief to explain it; the second time it is left
    /// out of `planning`.
    fn failed(&mut self, task: &Task, planning: &mut std::borrow::Cow<'_, Task>, a: usize) {
        let n = self.failed.entry(a).or_default();
        *n += 1;
        if *n == 2 {
            tracing::info!(call = %task.action_text(a), "failed twice; planning without it");
            planning.to_mut().actions[a].pre = Cond::False;
        }
    }
}
