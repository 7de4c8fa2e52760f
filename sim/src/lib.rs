//! # clea-sim: the simulator
//!
//! - [`scenario`]: the YAML scenario format and its checks.
//! - [`world`]: [`world::SimWorld`], ground truth with skill execution, partial observation,
//!   perturbations and scoring; pure and deterministic.
//! - [`domain_world`]: scenarios and the simulated world for any domain written as data (a PDDL
//!   domain and its skill binding): facts, skills by precondition and effect, world dynamics,
//!   perturbations on any fact, the binding's observation model.
//! - [`robots`]: the simulated robots on the bus: skill servers, observations, episode start/end.
//!
//! Design choice: the world model is synchronous and owns no I/O, so scenarios and determinism
//! are unit-tested without zenoh; the bus adapter is thin.
#![deny(missing_docs)]

pub mod domain_world;
pub mod robots;
pub mod scenario;
pub mod world;
