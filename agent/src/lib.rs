//! # clea-agent: the CLEA agent
//!
//! - [`memory`]: history buffer and symbolic belief `b_t`.
//! - [`executor`]: sends validated actions as skill goals; collects feedback and observations.
//! - [`openloop`]: the open-loop baseline (a fixed action list executed blindly).
//! - [`report`]: episode and suite reports.
#![deny(missing_docs)]

pub mod executor;
pub mod memory;
pub mod openloop;
pub mod report;

/// Errors of the agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The bus failed (session, or a service that did not answer).
    #[error(transparent)]
    Bus(#[from] clea_bus::BusError),
}
