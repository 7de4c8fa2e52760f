//! Symbolic module backends: the embedded default. Deterministic, offline, fast; they need the
//! task's goal predicates (not only its instruction text).

pub mod critic;
pub mod observer;
pub mod planner;
pub mod search;
pub mod summarizer;

pub use critic::RuleCritic;
pub use observer::StructuredObserver;
pub use planner::SearchPlanner;
pub use summarizer::SymbolicSummarizer;
