//! The episode controller: a `statig` hierarchical state machine (ARCHITECTURE.md, "The episode
//! controller").
//!
//! ```text
//! Idle -> Running{ Observing -> Summarizing -> Planning -> Verifying
//!                  | Acting{ Critiquing -> Executing } } -> Done | Failed | Stopped
//! ```
//! The machine is pure: it holds the plan queue, the feedback for the next plan and the counters,
//! and decides transitions; the driver ([`crate::episode`]) does the I/O for the state it is in
//! and feeds the result back as an [`Event`]. `Running` owns e-stop, budgets and module failures
//! for all its children. Replanning is hierarchical: a critic "no" replans the actions of the
//! same subgoal; a skill failure or an observation that contradicts the belief drops the subgoal.
//! The controller, not a planner, ends the episode: a planner's "done" must pass the critic.

use clea_skills::Action;
use statig::prelude::*;
use std::collections::VecDeque;

/// Settings of the controller (and the ablations of the CLEA paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Use the critic (`--critic on`). Off: actions execute unchecked and "done" is accepted.
    pub critic: bool,
    /// Open loop (`--open-loop`): plan once from the first observation, execute without
    /// feedback, then declare done.
    pub open_loop: bool,
    /// How much failure an episode tolerates before it fails.
    pub limits: ControllerLimits,
}

impl Default for ControllerConfig {
    /// The full loop: critic on, closed loop, the default limits.
    fn default() -> Self {
        Self {
            critic: true,
            open_loop: false,
            limits: ControllerLimits::default(),
        }
    }
}

/// How much failure an episode tolerates before it fails: a launch file's `agent.limits`
/// (each field optional; these defaults are the only ones).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct ControllerLimits {
    /// Most critic rejections in a row before the episode fails.
    pub max_consecutive_rejections: u32,
    /// Most plans with invalid calls in a row before the episode fails.
    pub max_invalid_plans: u32,
    /// Most plans in an episode (a bound on replanning loops).
    pub max_plans: u32,
    /// Most skills in a row whose server cannot be reached before the episode fails.
    pub max_unreachable: u32,
    /// Most times in a row the same call may fail; a plan that repeats it once more is
    /// rejected as invalid (with the reason), so a call that cannot succeed is not retried
    /// until the budget runs out.
    pub max_repeated_failures: u32,
}

impl Default for ControllerLimits {
    fn default() -> Self {
        Self {
            max_consecutive_rejections: 5,
            max_invalid_plans: 3,
            max_plans: 200,
            max_unreachable: 2,
            max_repeated_failures: 3,
        }
    }
}

/// A plan after the controller validated its calls against the pool and the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPlan {
    /// The planner declares the task done.
    pub done: bool,
    /// Subgoal text.
    pub subgoal: String,
    /// Valid actions, in order (empty if any call was invalid).
    pub actions: Vec<Action>,
    /// Validation errors of the invalid calls.
    pub invalid: Vec<String>,
}

/// What the driver observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Begin the episode.
    Start,
    /// The observer produced `o_t`.
    ObservationReady,
    /// The memory produced `b_t`; `contradictions` lists facts the observation overturned.
    BeliefReady {
        /// Overturned facts (empty if none).
        contradictions: Vec<String>,
    },
    /// The planner produced a plan.
    PlanReady(CheckedPlan),
    /// The critic judged the current action (or the done claim).
    Verdict {
        /// Feasible.
        feasible: bool,
        /// Why.
        feedback: String,
    },
    /// The executor finished the current action.
    SkillDone {
        /// Succeeded.
        success: bool,
        /// Outcome text.
        outcome: String,
        /// The robot's skill server could not be reached (none answered, or it disappeared).
        unreachable: bool,
    },
    /// Emergency stop.
    EStop(String),
    /// A budget (steps, wall time, model calls) is used up.
    BudgetExceeded(String),
    /// A module could not answer.
    ModuleFailed(String),
}

/// Counters reported per episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Skills executed.
    pub steps: u32,
    /// Plans made.
    pub plans: u32,
    /// Plans made because of feedback (failure, critic, contradiction, invalid calls).
    pub replans: u32,
    /// Critic rejections.
    pub critic_rejections: u32,
    /// Invalid calls proposed by the planner (never executed).
    pub invalid_calls: u32,
    consecutive_rejections: u32,
    consecutive_invalid: u32,
    consecutive_unreachable: u32,
}

/// The controller's shared storage.
#[derive(Debug)]
pub struct Controller {
    /// Settings.
    pub config: ControllerConfig,
    /// Remaining actions of the current plan.
    pub queue: VecDeque<Action>,
    /// The action being critiqued or executed.
    pub current: Option<Action>,
    /// Whether `current` is the first action of its plan (what an event-triggered critic
    /// judges fully; the plan's later actions meet only the rules unless something changed,
    /// which clears the plan).
    pub first_of_plan: bool,
    /// The last executed action and whether it succeeded.
    pub last: Option<(Action, bool)>,
    /// Subgoal of the current plan.
    pub subgoal: Option<String>,
    /// Feedback for the next plan request.
    pub feedback: Vec<String>,
    /// Counters.
    pub counters: Counters,
    /// Whether the (open-loop) plan was made.
    pub planned_once: bool,
    /// Every transition so far, as (from, to) state names.
    pub transitions: Vec<(&'static str, &'static str)>,
}

impl Controller {
    /// A controller in `Idle`.
    pub fn new(config: ControllerConfig) -> Self {
        Self {
            config,
            queue: VecDeque::new(),
            current: None,
            first_of_plan: false,
            last: None,
            subgoal: None,
            feedback: Vec::new(),
            counters: Counters::default(),
            planned_once: false,
            transitions: Vec::new(),
        }
    }

    /// Take the next queued action into `current` and go to the critic (or straight to the
    /// executor when the critic is off or the loop is open).
    fn next_action(&mut self) -> Response<State> {
        match self.queue.pop_front() {
            Some(a) => {
                self.current = Some(a);
                if self.config.critic && !self.config.open_loop {
                    Transition(State::critiquing())
                } else {
                    Transition(State::executing())
                }
            }
            None if self.config.open_loop && self.planned_once => Transition(State::done()),
            None => Transition(State::planning()),
        }
    }

    fn on_transition(&mut self, source: &State, target: &State) {
        self.transitions.push((source.name(), target.name()));
    }
}

impl State {
    /// The state's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            State::Idle {} => "Idle",
            State::Observing {} => "Observing",
            State::Summarizing {} => "Summarizing",
            State::Planning {} => "Planning",
            State::Verifying {} => "Verifying",
            State::Critiquing {} => "Critiquing",
            State::Executing {} => "Executing",
            State::Done {} => "Done",
            State::Failed { .. } => "Failed",
            State::Stopped { .. } => "Stopped",
        }
    }
}

#[state_machine(
    initial = "State::idle()",
    state(derive(Debug, Clone, PartialEq, Eq)),
    superstate(derive(Debug)),
    on_transition = "Self::on_transition"
)]
impl Controller {
    /// Waiting for `Start`.
    #[state]
    fn idle(event: &Event) -> Response<State> {
        match event {
            Event::Start => Transition(State::observing()),
            _ => Handled,
        }
    }

    /// Owns e-stop, budgets and module failures for every state of a running episode.
    #[superstate]
    fn running(event: &Event) -> Response<State> {
        match event {
            Event::EStop(reason) => Transition(State::stopped(format!("e-stop: {reason}"))),
            Event::BudgetExceeded(reason) => Transition(State::failed(reason.clone())),
            Event::ModuleFailed(reason) => Transition(State::failed(reason.clone())),
            _ => Handled,
        }
    }

    /// Waiting for the observer.
    #[state(superstate = "running")]
    fn observing(event: &Event) -> Response<State> {
        match event {
            Event::ObservationReady => Transition(State::summarizing()),
            _ => Super,
        }
    }

    /// Waiting for the memory; then continue the plan, or replan.
    #[state(superstate = "running")]
    fn summarizing(&mut self, event: &Event) -> Response<State> {
        match event {
            Event::BeliefReady { contradictions } => {
                if self.config.open_loop {
                    return if self.planned_once {
                        self.next_action()
                    } else {
                        Transition(State::planning())
                    };
                }
                if !contradictions.is_empty() {
                    // The world changed by itself: the subgoal may be void.
                    self.feedback.push(format!(
                        "the observation contradicts the belief: {}",
                        contradictions.join("; ")
                    ));
                    self.queue.clear();
                    self.subgoal = None;
                }
                if matches!(self.last, Some((_, false))) {
                    // The skill failed: its plan's remaining actions assumed it succeeded.
                    self.queue.clear();
                    self.subgoal = None;
                }
                self.first_of_plan = false;
                self.next_action()
            }
            _ => Super,
        }
    }

    /// Waiting for the planner.
    #[state(superstate = "running")]
    fn planning(&mut self, event: &Event) -> Response<State> {
        match event {
            Event::PlanReady(plan) => {
                let c = &mut self.counters;
                c.plans += 1;
                if !self.feedback.is_empty() {
                    c.replans += 1;
                }
                if c.plans > self.config.limits.max_plans {
                    return Transition(State::failed(format!(
                        "plan budget of {} used up",
                        self.config.limits.max_plans
                    )));
                }
                if !plan.invalid.is_empty() {
                    c.invalid_calls += plan.invalid.len() as u32;
                    c.consecutive_invalid += 1;
                    if c.consecutive_invalid >= self.config.limits.max_invalid_plans {
                        return Transition(State::failed(format!(
                            "the planner proposed invalid calls {} times in a row: {}",
                            c.consecutive_invalid,
                            plan.invalid.join("; ")
                        )));
                    }
                    self.feedback = plan
                        .invalid
                        .iter()
                        .map(|e| format!("invalid call rejected: {e}"))
                        .collect();
                    return Transition(State::planning());
                }
                c.consecutive_invalid = 0;
                self.feedback.clear();
                self.planned_once = true;
                if plan.done {
                    return if self.config.critic && !self.config.open_loop {
                        Transition(State::verifying())
                    } else {
                        Transition(State::done())
                    };
                }
                if plan.actions.is_empty() {
                    return Transition(State::failed("the planner returned no action".into()));
                }
                self.subgoal = Some(plan.subgoal.clone());
                self.queue = plan.actions.iter().cloned().collect();
                self.first_of_plan = true;
                self.next_action()
            }
            _ => Super,
        }
    }

    /// The critic checks the planner's claim that the task is done.
    #[state(superstate = "running")]
    fn verifying(&mut self, event: &Event) -> Response<State> {
        match event {
            Event::Verdict { feasible: true, .. } => Transition(State::done()),
            Event::Verdict { feedback, .. } => {
                self.counters.critic_rejections += 1;
                self.counters.consecutive_rejections += 1;
                if self.counters.consecutive_rejections
                    >= self.config.limits.max_consecutive_rejections
                {
                    return Transition(State::failed(format!(
                        "the critic rejected {} proposals in a row; last: {feedback}",
                        self.counters.consecutive_rejections
                    )));
                }
                self.feedback.push(feedback.clone());
                Transition(State::planning())
            }
            _ => Super,
        }
    }

    /// Critiquing and executing: the current action.
    #[superstate(superstate = "running")]
    fn acting(event: &Event) -> Response<State> {
        let _ = event;
        Super
    }

    /// Waiting for the critic's verdict on the current action.
    #[state(superstate = "acting")]
    fn critiquing(&mut self, event: &Event) -> Response<State> {
        match event {
            Event::Verdict { feasible: true, .. } => Transition(State::executing()),
            Event::Verdict { feedback, .. } => {
                self.counters.critic_rejections += 1;
                self.counters.consecutive_rejections += 1;
                if self.counters.consecutive_rejections
                    >= self.config.limits.max_consecutive_rejections
                {
                    return Transition(State::failed(format!(
                        "the critic rejected {} actions in a row; last: {feedback}",
                        self.counters.consecutive_rejections
                    )));
                }
                // Replan the actions of the same subgoal.
                self.feedback.push(feedback.clone());
                self.queue.clear();
                self.current = None;
                Transition(State::planning())
            }
            _ => Super,
        }
    }

    /// Waiting for the executor.
    #[state(superstate = "acting")]
    fn executing(&mut self, event: &Event) -> Response<State> {
        match event {
            Event::SkillDone {
                success,
                outcome,
                unreachable,
            } => {
                self.counters.steps += 1;
                self.counters.consecutive_rejections = 0;
                let a = self.current.take().expect("executing has a current action");
                if *unreachable {
                    self.counters.consecutive_unreachable += 1;
                    if self.counters.consecutive_unreachable >= self.config.limits.max_unreachable {
                        return Transition(State::failed(format!(
                            "robot unreachable: {a} {outcome} ({} times in a row)",
                            self.counters.consecutive_unreachable
                        )));
                    }
                } else {
                    self.counters.consecutive_unreachable = 0;
                }
                if !*success && !self.config.open_loop {
                    self.feedback.push(format!("{a} {outcome}"));
                }
                self.last = Some((a, *success));
                Transition(State::observing())
            }
            _ => Super,
        }
    }

    /// The episode ended as the controller decided.
    #[state]
    fn done(event: &Event) -> Response<State> {
        let _ = event;
        Handled
    }

    /// The episode failed cleanly with `reason`.
    #[state]
    fn failed(reason: &String, event: &Event) -> Response<State> {
        let _ = (reason, event);
        Handled
    }

    /// The episode was stopped (e-stop).
    #[state]
    fn stopped(reason: &String, event: &Event) -> Response<State> {
        let _ = (reason, event);
        Handled
    }
}

/// Whether `s` is terminal.
pub fn is_terminal(s: &State) -> bool {
    matches!(
        s,
        State::Done {} | State::Failed { .. } | State::Stopped { .. }
    )
}
