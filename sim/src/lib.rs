//! # clea-sim: the simulator
//!
//! - [`scenario`]: the YAML scenario format and its checks.
//! - [`world`]: [`world::SimWorld`], ground truth with skill execution, partial observation,
//!   perturbations and scoring; pure and deterministic.
//! - [`robots`]: the simulated robots on the bus: skill servers, observations, episode start/end.
//!
//! Design choice: the world model is synchronous and owns no I/O, so scenarios and determinism
//! are unit-tested without zenoh; the bus adapter is thin.
#![deny(missing_docs)]

pub mod robots;
pub mod scenario;
pub mod world;
