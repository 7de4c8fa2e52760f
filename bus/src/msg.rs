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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
}

/// Critic output for one proposed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Episode step.
    pub step: u32,
    /// The action judged.
    pub action: SkillCall,
    /// Whether the action is feasible now.
    pub feasible: bool,
    /// Reason, fed back to the planner when not feasible.
    pub feedback: String,
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
