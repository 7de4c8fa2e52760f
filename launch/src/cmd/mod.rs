//! One module per subcommand.

pub mod bench_eai;
pub mod diff;
#[cfg(feature = "perception")]
pub mod perceive;
pub mod plan;
pub mod replay;
pub mod rerun;
pub mod run;
pub mod schema;
pub mod sim;
pub mod sim_domain;
