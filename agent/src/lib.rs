//! # clea-agent: the CLEA agent
//!
//! - [`modules`]: one trait per CLEA role (observer, summarizer, planner, critic).
//! - [`symbolic`]: the embedded default backends (structured observer, belief merge, search
//!   planner, rule critic).
//! - [`memory`]: history buffer and symbolic belief `b_t`.
//! - [`belief`]: a belief message read back as facts.
//! - [`executor`]: sends validated actions as skill goals; collects feedback and observations.
//! - [`frames`]: camera frames (raw or compressed bus images) as image files for vision models.
//! - [`domain_agent`]: the closed loop over any domain written as data (PDDL + skill binding):
//!   belief as facts, heuristic search on it, the rule critic naming the unmet literal, replanning,
//!   goals pursued independently (an impossible one is reported, the rest achieved).
//! - [`domain_belief`]: that loop's belief under full or partial observability: known facts and
//!   optimistic assumptions for the rest.
//! - [`openloop`]: a fixed action list executed blindly (the reference-plan baseline).
//! - [`planner_errors`]: the errors of language-model planners injected into a correct planner's
//!   plans at a seeded rate, for ablations without a model.
//! - [`report`]: episode and suite reports.
#![deny(missing_docs)]

pub mod actors;
pub mod backends;
pub mod belief;
pub mod domain_agent;
pub mod domain_belief;
// statig generates `State` and `Superstate` without docs; the states are documented on their handlers.
#[allow(missing_docs)]
pub mod controller;
pub mod episode;
pub mod executor;
pub mod frames;
pub mod memory;
pub mod model;
pub mod modules;
pub mod openloop;
pub mod planner_errors;
pub mod report;
pub mod symbolic;

/// Errors of the agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The bus failed (session, or a service that did not answer).
    #[error(transparent)]
    Bus(#[from] clea_bus::BusError),
}
