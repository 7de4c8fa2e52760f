//! Message types carried on the bus.
//!
//! Every type here is plain data (serde + JSON Schema through `schemars`), encoded as JSON on the
//! wire. The episode log stores the same JSON with the schema of its type, so what a tool reads
//! back is exactly what an actor saw. Names follow the CLEA paper (arXiv 2503.00729, Sec. III):
//! observation `o_t`, belief `b_t`, plan (subgoal + skill calls), verdict (critic), and ROS 2
//! action terms for skills (goal, feedback, result, cancel).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Identifier of one skill goal, unique within a bus namespace (ROS 2: `GoalUUID`).
///
/// Built by the client from its session id and a counter, so two clients never collide.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct GoalId(pub String);

impl fmt::Display for GoalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An untrusted skill call: a skill name and named arguments, as a planner (symbolic or model)
/// or a plan file wrote it. It becomes a typed action only through `clea_skills::validate`.
///
/// JSON: `{"skill": "go_to", "args": {"robot": "robot_1", "navigation_point": "in_front_of_oven"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkillCall {
    /// Skill name from the pool, e.g. `pick_from`.
    pub skill: String,
    /// Arguments by parameter name; values are world names (strings) when valid.
    #[serde(default)]
    pub args: BTreeMap<String, serde_json::Value>,
}

impl SkillCall {
    /// The `robot` argument when it is a string (every skill of the pool has one).
    pub fn robot(&self) -> Option<&str> {
        self.args.get("robot").and_then(|v| v.as_str())
    }
}

impl fmt::Display for SkillCall {
    /// The paper's notation: `pick_from(robot_1, apple, table)` (argument values in key order of
    /// the skill's parameters is not known here, so values are printed as `name=value`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.skill)?;
        for (i, (k, v)) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match v.as_str() {
                Some(s) => write!(f, "{k}={s}")?,
                None => write!(f, "{k}={v}")?,
            }
        }
        f.write_str(")")
    }
}

/// Kind of a receptacle (CLEA-KITCHEN.md, "Receptacles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceptacleKind {
    /// Objects lie on it (a table).
    Surface,
    /// Objects are inside; may be openable (refrigerator, oven, drawers).
    Container,
    /// A sink.
    Basin,
    /// A trash can.
    Bin,
}

/// A receptacle of the world: something objects can be on or in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceptacleInfo {
    /// Unique name, e.g. `refrigerator`.
    pub name: String,
    /// Surface, container, basin or bin.
    pub kind: ReceptacleKind,
    /// Whether `open`/`close` apply; a closed openable hides its contents.
    #[serde(default)]
    pub openable: bool,
    /// Navigation point from which a mobile robot reaches it (`None`: only fixed robots reach it).
    #[serde(default)]
    pub near: Option<String>,
    /// Whether objects inside become `roasted` after a step in the closed receptacle (the oven).
    #[serde(default)]
    pub heats: bool,
}

/// A robot and its capabilities (CLEA-KITCHEN.md, "Robots").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RobotInfo {
    /// Unique name, e.g. `robot_1`.
    pub name: String,
    /// Whether `go_to` applies (a mobile base).
    pub mobile: bool,
    /// Number of arms; the paper's robot_1 has two, of which one can carry.
    #[serde(default = "one")]
    pub arms: u8,
    /// How many objects it can hold at once.
    #[serde(default = "one")]
    pub carry: u8,
    /// Receptacles a fixed robot reaches. A mobile robot reaches what is `near` its navigation
    /// point, plus these.
    #[serde(default)]
    pub reach: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn one() -> u8 {
    1
}

/// Names the world is made of: what a skill call may mention (the "world vocabulary").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldVocabulary {
    /// Places a mobile robot can stand at.
    pub navigation_points: Vec<String>,
    /// Receptacles, with kind and reach.
    pub receptacles: Vec<ReceptacleInfo>,
    /// Movable objects.
    pub objects: Vec<String>,
    /// Robots and their capabilities.
    pub robots: Vec<RobotInfo>,
}

impl WorldVocabulary {
    /// The receptacle named `name`.
    pub fn receptacle(&self, name: &str) -> Option<&ReceptacleInfo> {
        self.receptacles.iter().find(|r| r.name == name)
    }
    /// The robot named `name`.
    pub fn robot(&self, name: &str) -> Option<&RobotInfo> {
        self.robots.iter().find(|r| r.name == name)
    }
    /// Whether `name` is a movable object.
    pub fn is_object(&self, name: &str) -> bool {
        self.objects.iter().any(|o| o == name)
    }
    /// Whether `name` is a navigation point.
    pub fn is_navigation_point(&self, name: &str) -> bool {
        self.navigation_points.iter().any(|o| o == name)
    }
}

/// A task: instruction text for models and formal goal predicates for symbolic modules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskSpec {
    /// Scenario name the task comes from.
    pub scenario: String,
    /// Natural-language instruction.
    pub instruction: String,
    /// Goal predicates in term notation, e.g. `roasted(apple)`, `on(apple, table)`, `found(apple)`.
    pub goals: Vec<String>,
    /// The world's names and capabilities.
    pub vocabulary: WorldVocabulary,
    /// Object locations the instruction states (object → receptacle), known before any
    /// observation; the belief starts from them.
    #[serde(default)]
    pub known_locations: BTreeMap<String, String>,
    /// Step budget of the episode (skill executions).
    pub max_steps: u32,
    /// Wall-time budget of the episode, s.
    pub max_wall_time_s: f64,
    /// Seed the world was reset with.
    pub seed: u64,
}

/// One object a robot's camera sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedObject {
    /// Object name (world vocabulary).
    pub object: String,
    /// Whether it looks roasted.
    #[serde(default)]
    pub roasted: bool,
}

/// One receptacle in a robot's view, with what can be seen in or on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReceptacleView {
    /// Receptacle name.
    pub receptacle: String,
    /// Open state for openables (`None` for receptacles that do not open).
    pub open: Option<bool>,
    /// Whether the contents are visible (false for a closed container).
    pub contents_visible: bool,
    /// Objects seen in or on it; complete when `contents_visible`.
    pub objects: Vec<ObservedObject>,
}

/// What one robot perceives after a skill (CLEA: automatic observation after every skill).
///
/// Partial observability: only receptacles at the robot's navigation point (mobile robot) or in
/// its reach (fixed robot); closed containers hide their contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RobotObservation {
    /// Robot that observed.
    pub robot: String,
    /// Episode step (number of skills executed so far) at which it was taken.
    pub step: u32,
    /// Navigation point of the robot (`None` for a fixed robot).
    pub place: Option<String>,
    /// Objects in the robot's gripper.
    pub holding: Vec<String>,
    /// Receptacles in view.
    pub in_view: Vec<ReceptacleView>,
}

/// Structured observation `o_t` built by the observer from the robots' observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    /// Episode step.
    pub step: u32,
    /// Per-robot observations, sorted by robot.
    pub robots: Vec<RobotObservation>,
    /// Text rendering for model-backed modules.
    pub text: String,
}

/// Where the belief places one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BeliefObject {
    /// Object name.
    pub object: String,
    /// Receptacle or robot (holding it) where it was last seen; `None` if never seen.
    pub location: Option<String>,
    /// Step at which it was last seen.
    pub seen_at_step: Option<u32>,
    /// Step at which it was found missing from where it was last seen (its location is then
    /// unknown); `None` while it is where it was seen, or was never seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_since_step: Option<u32>,
    /// While its location is unknown: how many times every receptacle of the world was looked
    /// into without seeing it (since it went missing, or since the episode began).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unseen_sweeps: u32,
    /// Whether it was seen roasted.
    pub roasted: bool,
}

/// Belief on one openable receptacle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BeliefContainer {
    /// Receptacle name.
    pub receptacle: String,
    /// Last seen open state (`None`: never seen).
    pub open: Option<bool>,
    /// Whether its contents have been seen at least once.
    pub searched: bool,
}

/// Belief on one robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BeliefRobot {
    /// Robot name.
    pub robot: String,
    /// Navigation point, if mobile and known.
    pub place: Option<String>,
    /// Objects it holds.
    pub holding: Vec<String>,
}

/// Belief state `b_t` (CLEA Sec. III-B, memory/summarizer output).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Belief {
    /// Episode step of the newest observation merged.
    pub step: u32,
    /// Objects, sorted by name.
    pub objects: Vec<BeliefObject>,
    /// Openable receptacles, sorted by name.
    pub containers: Vec<BeliefContainer>,
    /// Robots, sorted by name.
    pub robots: Vec<BeliefRobot>,
    /// Navigation points visited so far.
    pub visited: Vec<String>,
    /// Goal predicates that hold according to the belief.
    pub goals_holding: Vec<String>,
    /// When each receptacle's contents were last seen (receptacles never seen are absent).
    #[serde(default)]
    pub searched: Vec<SearchedReceptacle>,
    /// Facts the newest observation overturned (beyond what the last action predicted), e.g.
    /// `apple is no longer in refrigerator`. Non-empty means the world changed by itself.
    #[serde(default)]
    pub contradictions: Vec<String>,
    /// Text rendering for model-backed modules.
    pub text: String,
    /// Model calls made to produce it (absent for symbolic modules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
}

/// When a receptacle's contents were last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchedReceptacle {
    /// Receptacle.
    pub receptacle: String,
    /// Step of the observation.
    pub step: u32,
}

/// Planner output: a subgoal and 1–5 skill calls, or the declaration that the task is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Episode step the plan was made at.
    pub step: u32,
    /// Subgoal in words, e.g. `bring apple to oven`.
    pub subgoal: String,
    /// Skill calls to execute in order (empty when `done`).
    pub actions: Vec<SkillCall>,
    /// The planner declares the task complete.
    pub done: bool,
    /// Chain of thought or search summary.
    #[serde(default)]
    pub reasoning: String,
    /// Model calls made to produce it (absent for symbolic modules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
}

/// Critic output for one proposed action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Episode step.
    pub step: u32,
    /// The action judged.
    pub action: SkillCall,
    /// Whether the action is feasible now.
    pub feasible: bool,
    /// Reason, fed back to the planner when not feasible.
    pub feedback: String,
    /// Model calls made to produce it (absent for symbolic modules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
}

/// A skill goal (ROS 2: `SendGoal` request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkillGoal {
    /// Client-chosen unique id.
    pub goal_id: GoalId,
    /// The call to execute.
    pub call: SkillCall,
}

/// Answer to a goal (ROS 2: `SendGoal` response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GoalResponse {
    /// The goal answered.
    pub goal_id: GoalId,
    /// Whether the server will execute it.
    pub accepted: bool,
    /// Why it was rejected (empty when accepted).
    #[serde(default)]
    pub reason: String,
}

/// Progress of an accepted goal (ROS 2: feedback topic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SkillFeedback {
    /// The goal.
    pub goal_id: GoalId,
    /// Progress in `[0, 1]`.
    pub progress: f32,
    /// What the skill is doing.
    pub text: String,
}

/// How a goal ended (ROS 2: `GoalStatus` terminal states).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SkillOutcome {
    /// The skill did what it was asked.
    Succeeded,
    /// The skill failed and changed nothing; `reason` says why.
    Failed {
        /// Human-readable reason, e.g. `refrigerator is closed`.
        reason: String,
    },
    /// A cancel request stopped it.
    Canceled,
    /// The client's deadline passed.
    TimedOut,
    /// The robot's skill server could not be reached: none answered the goal, or it went away
    /// (liveliness lost, session closed) during it. Set by the client, never by a server; the
    /// controller counts these to tell a robot that is gone from a skill that failed.
    Unreachable {
        /// What happened, e.g. `no skill server for robot_1/go_to`.
        reason: String,
    },
}

impl SkillOutcome {
    /// True for `Succeeded`.
    pub fn is_success(&self) -> bool {
        matches!(self, SkillOutcome::Succeeded)
    }
}

impl fmt::Display for SkillOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkillOutcome::Succeeded => f.write_str("succeeded"),
            SkillOutcome::Failed { reason } => write!(f, "failed: {reason}"),
            SkillOutcome::Canceled => f.write_str("canceled"),
            SkillOutcome::TimedOut => f.write_str("timed out"),
            SkillOutcome::Unreachable { reason } => write!(f, "unreachable: {reason}"),
        }
    }
}

/// Final message of a goal (ROS 2: `GetResult` response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkillResult {
    /// The goal.
    pub goal_id: GoalId,
    /// How it ended.
    pub outcome: SkillOutcome,
}

/// Request to cancel a goal (ROS 2: `CancelGoal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancelRequest {
    /// The goal to cancel.
    pub goal_id: GoalId,
}

/// Answer to a cancel request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancelResponse {
    /// The goal.
    pub goal_id: GoalId,
    /// Whether the goal was active and is being canceled.
    pub accepted: bool,
}

/// Emergency stop: every robot cancels its active goals and accepts none while engaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EStop {
    /// Engaged (true) or released (false).
    pub engaged: bool,
    /// Who or why.
    pub reason: String,
}

/// What the agent reports when an episode ends; the simulator scores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EpisodeEnd {
    /// The agent declared the task done (as opposed to giving up or running out of budget).
    pub declared_done: bool,
    /// Why the episode ended, in words.
    pub reason: String,
    /// Where the agent believes each object is (object → receptacle or robot); scores `found(x)`.
    pub believed_locations: BTreeMap<String, String>,
    /// Skill calls the agent rejected as invalid (they never reached a robot).
    pub invalid_calls: u32,
}

/// Score of an episode (CLEA-KITCHEN.md, "Metrics").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpisodeScore {
    /// All goal predicates hold.
    pub success: bool,
    /// Share of goal predicates that hold, in `[0, 1]`.
    pub score: f64,
    /// Goal predicates that hold at the end.
    pub goals_met: Vec<String>,
    /// Goal predicates that do not.
    pub goals_unmet: Vec<String>,
    /// Skills executed (successful or not).
    pub steps: u32,
    /// Skills that failed.
    pub skill_failures: u32,
    /// Calls rejected as invalid (by the robot or reported by the agent).
    pub invalid_calls: u32,
    /// Perturbations that fired.
    pub perturbations: u32,
}

/// One entry of the simulator's event log: what happened in the world, in order.
///
/// The same scenario and seed give the same sequence (the determinism contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EpisodeEvent {
    /// The world was reset.
    Reset {
        /// Scenario name.
        scenario: String,
        /// Seed.
        seed: u64,
    },
    /// A skill ran.
    Skill {
        /// Step number (1-based).
        step: u32,
        /// The call as the paper writes it, e.g. `go_to(robot_1, in_front_of_oven)`.
        action: String,
        /// How it ended.
        outcome: SkillOutcome,
    },
    /// A call was rejected before execution.
    Rejected {
        /// Step at which it arrived.
        step: u32,
        /// The call.
        call: String,
        /// Why.
        reason: String,
    },
    /// A perturbation fired.
    Perturbation {
        /// Step after which it fired.
        step: u32,
        /// What changed.
        description: String,
    },
    /// An object became roasted.
    Roasted {
        /// Step.
        step: u32,
        /// Object.
        object: String,
    },
    /// The episode ended and was scored.
    Ended {
        /// Steps.
        step: u32,
        /// Success.
        success: bool,
    },
}

/// Request to (re)start an episode on a simulator (`clea/<ns>/sim/episode/start`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StartRequest {
    /// Seed; `None` uses the scenario's.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Reply to a [`StartRequest`]: the task and what each robot sees at step 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpisodeStart {
    /// The task.
    pub task: TaskSpec,
    /// Initial observations, one per robot.
    pub observations: Vec<RobotObservation>,
}

/// Request to the observer: build `o_t` from the robots' newest observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObserveRequest {
    /// Episode step.
    pub step: u32,
    /// Observations the controller already holds (e.g. from the episode start); the observer
    /// merges them with those it received on the bus, newest per robot.
    #[serde(default)]
    pub robots: Vec<RobotObservation>,
    /// The task's world names, for an observer that must name what it sees (a VLM observer's
    /// reply schema lists them); sent with the episode's first request, kept by the observer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<WorldVocabulary>,
}

/// Request to the memory: merge an observation (and the action that led to it) into the belief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryRequest {
    /// Present on the first request of an episode: reset the memory for this task.
    #[serde(default)]
    pub reset: Option<TaskSpec>,
    /// The new observation `o_t`.
    pub observation: Observation,
    /// The action executed before it, if any.
    #[serde(default)]
    pub action: Option<SkillCall>,
    /// Its outcome (the feedback `f`).
    #[serde(default)]
    pub outcome: Option<SkillOutcome>,
}

/// Request to the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanRequest {
    /// The task.
    pub task: TaskSpec,
    /// Belief `b_t`.
    pub belief: Belief,
    /// Observation `o_t`.
    pub observation: Observation,
    /// Feedback since the last plan: critic verdicts, skill failures, validation errors.
    #[serde(default)]
    pub feedback: Vec<String>,
    /// The subgoal to keep (the critic rejected an action of it), if any.
    #[serde(default)]
    pub subgoal: Option<String>,
    /// Most actions the plan may hold (CLEA: 1–5; open-loop: the step budget).
    pub max_actions: u32,
}

/// Request to the critic: judge one action, or (no action) the planner's claim that the task is
/// done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CritiqueRequest {
    /// The task.
    pub task: TaskSpec,
    /// Belief `b_t`.
    pub belief: Belief,
    /// Observation `o_t`.
    pub observation: Observation,
    /// The proposed action; `None` asks whether the task is done.
    pub action: Option<SkillCall>,
    /// The subgoal the action serves.
    #[serde(default)]
    pub subgoal: String,
    /// What calls for the judgement (CLEA's event-triggered critic: a model critic is asked
    /// only when something changed that the rules cannot judge).
    #[serde(default)]
    pub trigger: CritiqueTrigger,
}

/// Why the critic is asked (see [`CritiqueRequest::trigger`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CritiqueTrigger {
    /// The first action of a new plan (made after a start, a failed skill, a world that
    /// changed by itself, a rejection or the end of the last plan). The default: judge fully.
    #[default]
    NewPlan,
    /// The next action of a plan whose first action was judged, nothing unexpected since.
    NextInPlan,
    /// The planner claims the task is done.
    DoneClaim,
}

impl CritiqueRequest {
    /// What the verdict is about: the action, or the pseudo-call `done()` for a done claim.
    pub fn judged(&self) -> SkillCall {
        self.action.clone().unwrap_or_else(|| SkillCall {
            skill: "done".into(),
            args: BTreeMap::new(),
        })
    }
}

/// Request to the executor: run one validated skill call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecuteRequest {
    /// Episode step the action is for (1-based).
    pub step: u32,
    /// The call (validated by the controller; the robot validates again).
    pub call: SkillCall,
}

/// An executed action and its feedback (`a_t`, `f_t`), published on `clea/<ns>/action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ActionRecord {
    /// Step (1-based).
    pub step: u32,
    /// The call.
    pub call: SkillCall,
    /// How it ended.
    pub outcome: SkillOutcome,
    /// Whether a robot accepted the goal.
    pub accepted: bool,
}

/// A transition of the episode controller, published on `clea/<ns>/episode/transition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    /// Episode step.
    pub step: u32,
    /// Source state.
    pub from: String,
    /// Target state.
    pub to: String,
}

/// Model calls made by a module for one output: counted per episode against its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelUsage {
    /// Chat completion requests (repairs and retries included).
    pub calls: u32,
    /// Prompt tokens, as the endpoint reported them.
    pub prompt_tokens: u64,
    /// Completion tokens, as the endpoint reported them.
    pub completion_tokens: u64,
    /// Prompt tokens the endpoint served from its prefix cache (OpenAI's
    /// `usage.prompt_tokens_details.cached_tokens`, llama.cpp's `timings.cache_n`; 0 when the
    /// endpoint does not say).
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    /// Time spent waiting for the endpoint, s.
    pub latency_s: f64,
}

impl ModelUsage {
    /// Add `other` to `self`.
    pub fn add(&mut self, other: &ModelUsage) {
        self.calls += other.calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cached_prompt_tokens += other.cached_prompt_tokens;
        self.latency_s += other.latency_s;
    }
}

/// One model call as logged on `clea/<ns>/model/call`: enough to audit it and to replay it
/// (the cassette backend serves `reply` to an identical `request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelCall {
    /// Module that called (`planner`, `critic`, `summarizer`, `observer`).
    pub module: String,
    /// Episode step.
    pub step: u32,
    /// The request body as sent (no credentials: the API key travels only in a header).
    pub request: serde_json::Value,
    /// The reply's text (message content or forced tool-call arguments); empty on error.
    pub reply: String,
    /// Tokens and latency of this call.
    pub usage: ModelUsage,
    /// The completion's `finish_reason` (`length`: cut at `max_tokens`), when the endpoint gave
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Accepted, rejected (parse or validation error, with why) or failed (with why); on the
    /// wire the text `accepted`, `rejected: <why>` or `error: <why>`.
    #[schemars(with = "String")]
    pub outcome: ModelOutcome,
}

/// How one model call ended. Decisions (a cassette skips failed calls) match on the variant,
/// never on the text; on the wire it is the text (`accepted`, `rejected: why`, `error: why`),
/// as logs have always carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ModelOutcome {
    /// The reply parsed and validated.
    Accepted,
    /// The reply was rejected: why (sent back to the model for a repair when any are left).
    Rejected(String),
    /// The call failed (endpoint unavailable, rejected the request): why.
    Error(String),
}

impl fmt::Display for ModelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelOutcome::Accepted => f.write_str("accepted"),
            ModelOutcome::Rejected(why) => write!(f, "rejected: {why}"),
            ModelOutcome::Error(why) => write!(f, "error: {why}"),
        }
    }
}

impl From<ModelOutcome> for String {
    fn from(o: ModelOutcome) -> String {
        o.to_string()
    }
}

impl From<String> for ModelOutcome {
    /// Read the wire text; anything that is neither `accepted` nor `rejected: ...` is an error.
    fn from(s: String) -> Self {
        if s == "accepted" {
            ModelOutcome::Accepted
        } else if let Some(why) = s.strip_prefix("rejected: ") {
            ModelOutcome::Rejected(why.to_string())
        } else {
            ModelOutcome::Error(s.strip_prefix("error: ").unwrap_or(&s).to_string())
        }
    }
}

impl PartialEq<&str> for ModelOutcome {
    fn eq(&self, other: &&str) -> bool {
        match self {
            ModelOutcome::Accepted => *other == "accepted",
            ModelOutcome::Rejected(why) => other.strip_prefix("rejected: ") == Some(why.as_str()),
            ModelOutcome::Error(why) => other.strip_prefix("error: ") == Some(why.as_str()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Perception: camera frames in, detections out (clea-perception).
// ---------------------------------------------------------------------------------------------

/// A point in time (ROS 2 `builtin_interfaces/Time`): seconds and nanoseconds since the epoch of
/// the clock that stamped it (wall clock on a real robot, the simulator's clock in simulation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Time {
    /// Whole seconds.
    pub sec: i32,
    /// Nanoseconds within the second, `[0, 1e9)`.
    pub nanosec: u32,
}

impl Time {
    /// The time `secs` seconds after the epoch (clamped to the representable range).
    pub fn from_secs_f64(secs: f64) -> Self {
        let secs = secs.clamp(i32::MIN as f64, i32::MAX as f64);
        let sec = secs.floor();
        let nanosec = ((secs - sec) * 1e9).round().min(999_999_999.0) as u32;
        Self {
            sec: sec as i32,
            nanosec,
        }
    }

    /// Seconds since the epoch.
    pub fn as_secs_f64(self) -> f64 {
        f64::from(self.sec) + f64::from(self.nanosec) * 1e-9
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            sec: i32::try_from(d.as_secs()).unwrap_or(i32::MAX),
            nanosec: d.subsec_nanos(),
        }
    }
}

/// Stamp and coordinate frame of a message (ROS 2 `std_msgs/Header`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// When the data was acquired (for an image: the exposure).
    pub stamp: Time,
    /// Coordinate frame of the data, e.g. `camera_color_optical_frame`.
    pub frame_id: String,
}

/// A camera image (ROS 2 `sensor_msgs/Image`), published on
/// `clea/<ns>/robot/<robot>/camera/<cam>/image` (colour) and `.../camera/<cam>/depth` (depth
/// aligned to the colour image).
///
/// `encoding` is a ROS encoding: `rgb8`, `bgr8`, `mono8` (colour/grey, one byte per channel),
/// `16UC1` (depth in millimetres, 0 = invalid) or `32FC1` (depth in metres, 0/NaN = invalid).
/// Row `r` starts at byte `r * step`. In JSON, `data` is base64 (as Foxglove writes bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CameraImage {
    /// Acquisition time and the camera's optical frame.
    pub header: Header,
    /// Rows, pixels.
    pub height: u32,
    /// Columns, pixels.
    pub width: u32,
    /// Pixel encoding (see above).
    pub encoding: String,
    /// 1 when multi-byte pixels are big-endian.
    #[serde(default)]
    pub is_bigendian: u8,
    /// Bytes per row.
    pub step: u32,
    /// Pixel bytes, `step * height` of them.
    #[serde(with = "base64_bytes")]
    #[schemars(with = "String")]
    pub data: Vec<u8>,
}

impl CameraImage {
    /// Bytes per pixel of the encodings this runtime reads (`rgb8`, `bgr8`, `mono8`, `rgba8`,
    /// `bgra8`, `mono16`, `16UC1`, `32FC1`); `None` for others.
    pub fn bytes_per_pixel(&self) -> Option<u32> {
        Some(match self.encoding.as_str() {
            "mono8" | "8UC1" => 1,
            "mono16" | "16UC1" => 2,
            "rgb8" | "bgr8" | "8UC3" => 3,
            "rgba8" | "bgra8" | "8UC4" | "32FC1" => 4,
            _ => return None,
        })
    }

    /// Check that the bytes can hold the image the header describes: `data` has at least
    /// `step × height` bytes and, for a known encoding, `step ≥ width × bytes per pixel`
    /// (`sensor_msgs/Image`'s contract). A message that breaks it (a driver bug, a cut
    /// transfer) would otherwise be read past its end or as garbage.
    ///
    /// # Errors
    /// The reason, with the numbers, when the bytes are too few or the step too short.
    pub fn check_size(&self) -> Result<(), String> {
        let need = u64::from(self.step) * u64::from(self.height);
        if (self.data.len() as u64) < need {
            return Err(format!(
                "{} × {} {} image with step {} needs {need} bytes, has {}",
                self.width,
                self.height,
                self.encoding,
                self.step,
                self.data.len()
            ));
        }
        if let Some(bpp) = self.bytes_per_pixel() {
            let row = u64::from(self.width) * u64::from(bpp);
            if u64::from(self.step) < row {
                return Err(format!(
                    "{} × {} {} image has step {}, less than a row's {row} bytes",
                    self.width, self.height, self.encoding, self.step
                ));
            }
        }
        Ok(())
    }
}

/// A compressed camera image (ROS 2 `sensor_msgs/CompressedImage`), published on
/// `clea/<ns>/robot/<robot>/camera/<cam>/image_compressed`: the bytes of one JPEG or PNG file as
/// the camera driver (`image_transport`'s `compressed` plugin) sent them.
///
/// `format` is the driver's string, e.g. `jpeg`, `png` or `rgb8; jpeg compressed bgr8`; the
/// perception actor decodes the bytes by their content, whatever the string says. In JSON,
/// `data` is base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CompressedImage {
    /// Acquisition time and the camera's optical frame.
    pub header: Header,
    /// Compression format as the driver wrote it.
    pub format: String,
    /// The compressed file's bytes.
    #[serde(with = "base64_bytes")]
    #[schemars(with = "String")]
    pub data: Vec<u8>,
}

/// A quaternion `x, y, z, w` (ROS 2 `geometry_msgs/Quaternion`), unit norm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quaternion {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
    /// w.
    pub w: f64,
}

impl Default for Quaternion {
    fn default() -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 1.0,
        }
    }
}

/// A pose (ROS 2 `geometry_msgs/Pose`): position in m, orientation as a unit quaternion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pose {
    /// Position, m.
    pub position: Point3,
    /// Orientation.
    pub orientation: Quaternion,
}

/// A velocity (ROS 2 `geometry_msgs/Twist`): linear in m/s, angular in rad/s, as `[x, y, z]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Twist {
    /// Linear velocity, m/s.
    pub linear: [f64; 3],
    /// Angular velocity, rad/s.
    pub angular: [f64; 3],
}

/// Odometry of a mobile base (ROS 2 `nav_msgs/Odometry`), published on
/// `clea/<ns>/robot/<robot>/odom`.
///
/// `pose` is the pose of `child_frame_id` (the base, e.g. `base_link`) in `header.frame_id`
/// (e.g. `odom`); `twist` is the base's velocity in `child_frame_id`. Covariances are row-major
/// 6x6 over (x, y, z, rotation about x, y, z): 36 entries, or none when the driver sent zeros.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Odometry {
    /// Stamp and the parent (odometry) frame.
    pub header: Header,
    /// The frame whose pose and velocity this is.
    pub child_frame_id: String,
    /// Pose of `child_frame_id` in `header.frame_id`.
    pub pose: Pose,
    /// Pose covariance (36 entries or empty), m² and rad².
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pose_covariance: Vec<f64>,
    /// Velocity of `child_frame_id`, expressed in `child_frame_id`.
    pub twist: Twist,
    /// Twist covariance (36 entries or empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub twist_covariance: Vec<f64>,
}

/// Pinhole calibration of a camera (the part of ROS 2 `sensor_msgs/CameraInfo` perception uses),
/// published on `clea/<ns>/robot/<robot>/camera/<cam>/camera_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CameraInfo {
    /// Stamp and the camera's optical frame.
    pub header: Header,
    /// Rows of the calibrated image, pixels.
    pub height: u32,
    /// Columns of the calibrated image, pixels.
    pub width: u32,
    /// Distortion model, e.g. `plumb_bob` (images are expected rectified).
    #[serde(default)]
    pub distortion_model: String,
    /// Distortion coefficients.
    #[serde(default)]
    pub d: Vec<f64>,
    /// Intrinsic matrix K, row-major `[fx, 0, cx, 0, fy, cy, 0, 0, 1]`, pixels.
    pub k: [f64; 9],
}

/// An axis-aligned box in image pixels (x to the right, y down; corners are pixel edges, so a
/// box covering pixel columns 10..=19 has `x_min = 10`, `x_max = 20`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoundingBox2D {
    /// Left edge, px.
    pub x_min: f64,
    /// Top edge, px.
    pub y_min: f64,
    /// Right edge, px.
    pub x_max: f64,
    /// Bottom edge, px.
    pub y_max: f64,
}

/// A binary mask as run-length encoding over a pixel rectangle of the image.
///
/// The rectangle is `width` x `height` pixels with its top-left pixel at (`x`, `y`). Runs go
/// row by row (row-major), alternate off/on and start with an "off" run (which may be 0), so
/// `counts.iter().sum() == width * height`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MaskRle {
    /// Left pixel column of the rectangle.
    pub x: u32,
    /// Top pixel row of the rectangle.
    pub y: u32,
    /// Columns of the rectangle.
    pub width: u32,
    /// Rows of the rectangle.
    pub height: u32,
    /// Run lengths, starting with "off".
    pub counts: Vec<u32>,
}

/// A 3D point, m.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point3 {
    /// x, m.
    pub x: f64,
    /// y, m.
    pub y: f64,
    /// z, m.
    pub z: f64,
}

/// One detected object in an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detection {
    /// Class label of the detector, e.g. `apple` or `face`.
    pub label: String,
    /// Class index of the detector.
    pub class_id: u32,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// Box in source-image pixels.
    pub bbox: BoundingBox2D,
    /// Instance mask (segmentation models), cropped to the box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<MaskRle>,
    /// Keypoints in source-image pixels (CenterFace: eyes, nose, mouth corners).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keypoints: Vec<[f64; 2]>,
    /// Position in the camera's optical frame (x right, y down, z forward), m; `None` without
    /// valid depth.
    #[serde(default)]
    pub position_camera: Option<Point3>,
    /// Position in [`Detections::target_frame_id`], m; `None` without valid depth.
    #[serde(default)]
    pub position: Option<Point3>,
}

/// Everything a detector found in one camera frame, published on
/// `clea/<ns>/robot/<robot>/perception/detections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detections {
    /// Stamp of the image and the camera's optical frame.
    pub header: Header,
    /// Robot whose camera took the image.
    pub robot: String,
    /// Camera name.
    pub camera: String,
    /// Image columns, pixels.
    pub image_width: u32,
    /// Image rows, pixels.
    pub image_height: u32,
    /// Frame of [`Detection::position`], e.g. `world` or `base_link`.
    pub target_frame_id: String,
    /// Detections, best score first.
    pub detections: Vec<Detection>,
}

/// Base64 (RFC 4648, with padding) for byte fields in JSON, as Foxglove encodes `bytes`.
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(encoding: &str, width: u32, height: u32, step: u32, bytes: usize) -> CameraImage {
        CameraImage {
            header: Header::default(),
            height,
            width,
            encoding: encoding.into(),
            is_bigendian: 0,
            step,
            data: vec![0; bytes],
        }
    }

    #[test]
    fn an_image_shorter_than_step_times_height_is_refused() {
        assert!(image("rgb8", 4, 2, 12, 24).check_size().is_ok());
        let e = image("rgb8", 4, 2, 12, 23).check_size().unwrap_err();
        assert!(e.contains("needs 24 bytes, has 23"), "{e}");
        let e = image("16UC1", 4, 2, 6, 12).check_size().unwrap_err();
        assert!(e.contains("less than a row's 8 bytes"), "{e}");
        // An unknown encoding is checked by step × height only.
        assert!(image("bayer_rggb8", 4, 2, 4, 8).check_size().is_ok());
    }
}
