//! # clea-skills: the skill pool
//!
//! - [`pool`]: the five skills of the CLEA kitchen as data: typed parameters, required robot
//!   capabilities, preconditions and effects.
//! - [`action`]: [`Action`], the typed call, and [`validate`], the only way to get one from an
//!   untrusted [`clea_bus::msg::SkillCall`].
//! - [`state`]: [`WorldState`] and the three-valued semantics of preconditions and effects, shared
//!   by the simulator (truth), the planner (search) and the critic (belief).
//! - [`goal`]: goal predicates of tasks.
//! - [`schema`]: JSON schemas of the skills for model tool calls.
//! - [`scope`]: [`TaskScope`], the objects a task's calls may move.
//! - [`term`]: the paper's `name(arg, ...)` notation.
//! - [`ros2`]: the ROS 2 robot adapter's launch-file configuration and its checks (always), and
//!   the adapter itself (feature `ros2`: cameras, odometry, skills as ROS 2 actions and services,
//!   e-stop, through r2r).
#![deny(missing_docs)]

pub mod action;
pub mod goal;
pub mod pool;
pub mod ros2;
pub mod schema;
pub mod scope;
pub mod state;
pub mod term;

pub use action::{parse_call, validate, Action, CallError};
pub use goal::{Goal, GoalError};
pub use pool::{ArgKind, Capability, SkillName, SkillSpec, POOL};
pub use scope::TaskScope;
pub use state::{Check, Location, Unmet, WorldState};

#[cfg(test)]
mod tests;
