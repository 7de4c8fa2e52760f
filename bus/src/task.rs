//! A simulator of a domain written as data, seen from the agent: its task service and what its
//! robots perceive, as PDDL facts.
//!
//! - `clea/<ns>/sim/task/list` (queryable, `{}` → [`TaskList`]): the instances it serves.
//! - `clea/<ns>/sim/task/start` (queryable, [`TaskRequest`] → [`TaskStart`]): load one task
//!   instance; the reply is the PDDL problem (objects, initial state, goal), the instruction and
//!   the actions the task requires.
//! - `clea/<ns>/robot/<robot>/facts` (queryable, [`FactsRequest`] → [`FactObservation`]): what
//!   the robot perceives now.
//! - `clea/<ns>/sim/task/end` (queryable, [`TaskEnd`] → [`TaskVerdict`]): the simulator's own
//!   scorer judges the episode.
//!
//! Skills are the ordinary skill action protocol ([`crate::action`]), one skill per PDDL action,
//! arguments by PDDL parameter name (the acting robot's parameter is `robot`).

use crate::episode::query;
use crate::{encode, Bus, BusError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The instances a simulator serves, in its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    /// Instance ids.
    pub tasks: Vec<String>,
}

/// Request to load a task instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskRequest {
    /// The simulator's instance id, e.g. EAI's `27_2`.
    pub task: String,
    /// `full` (every object of the problem is perceived) or `partial` (what the robot can see
    /// from where it is).
    pub observability: String,
}

/// A loaded task instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskStart {
    /// The instance id.
    pub task: String,
    /// The task's kind, e.g. `Wash clothes`.
    #[serde(default)]
    pub name: String,
    /// Instruction in words.
    #[serde(default)]
    pub instruction: String,
    /// The PDDL domain text (`(define (domain ...) ...)`) the problem is written in.
    pub domain: String,
    /// Whether the simulator's scorer counts this instance (EAI: its gold plan passes their
    /// scorer); an instance that does not is outside the benchmark's denominator.
    #[serde(default = "yes")]
    pub scored: bool,
    /// The PDDL problem text (`(define (problem ...) ...)`) of the simulator's domain.
    pub problem: String,
    /// Actions that must occur, in order; each step is done by any one of its PDDL action
    /// names (see `clea_domain::required`).
    #[serde(default)]
    pub required_actions: Vec<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// Request for a robot's perception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FactsRequest {
    /// The robot.
    pub robot: String,
}

/// One perceived fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fact {
    /// A PDDL atom, e.g. `(obj_inside soap washing_machine)`.
    pub atom: String,
    /// Whether it holds.
    pub value: bool,
}

/// What a robot perceives now, as facts of the problem (facts it does not mention are
/// unknown to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FactObservation {
    /// The robot.
    pub robot: String,
    /// Skills executed so far in the episode.
    pub step: u32,
    /// The facts.
    pub facts: Vec<Fact>,
}

/// The end of an episode, from the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskEnd {
    /// The instance id.
    pub task: String,
    /// Why the agent stopped, in words.
    pub reason: String,
}

/// The simulator's scorer on an episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskVerdict {
    /// The instance id.
    pub task: String,
    /// The scorer's task success.
    pub success: bool,
    /// The scorer's own fields (goals met, error types, the executed script ...), as it reports
    /// them.
    #[serde(default)]
    pub details: serde_json::Value,
}

/// The instances the simulator serves.
///
/// # Errors
/// [`BusError::NoReply`] when no simulator answers within `timeout`.
pub async fn list(bus: &Bus, timeout: Duration) -> Result<TaskList, BusError> {
    query(bus, bus.keys.task_list(), b"{}".to_vec(), timeout).await
}

/// Load task `req.task` in the simulator.
///
/// # Errors
/// [`BusError::NoReply`] when no simulator answers within `timeout`; [`BusError::Zenoh`] with
/// the simulator's reason when it cannot load the task (unknown id, a problem that does not
/// translate).
pub async fn start(bus: &Bus, req: &TaskRequest, timeout: Duration) -> Result<TaskStart, BusError> {
    query(bus, bus.keys.task_start(), encode(req), timeout).await
}

/// What `robot` perceives now.
///
/// # Errors
/// As [`start`].
pub async fn facts(bus: &Bus, robot: &str, timeout: Duration) -> Result<FactObservation, BusError> {
    let req = FactsRequest {
        robot: robot.to_string(),
    };
    query(bus, bus.keys.robot_facts(robot)?, encode(&req), timeout).await
}

/// End the episode; returns the simulator's verdict.
///
/// # Errors
/// As [`start`].
pub async fn end(bus: &Bus, end: &TaskEnd, timeout: Duration) -> Result<TaskVerdict, BusError> {
    query(bus, bus.keys.task_end(), encode(end), timeout).await
}
