//! Errors of the command line, mapped to exit codes.

/// A command failure: bad input (exit 2), a runtime failure or a found difference (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file or argument that does not check; the message names file, field and reason.
    #[error("{0}")]
    Input(String),
    /// Something failed while running.
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
    /// A comparison found a difference (exit 1, like `diff`).
    #[error("{0}")]
    Differs(String),
    /// The operator interrupted the run (exit 130, as for SIGINT).
    #[error("interrupted")]
    Interrupted,
}

impl CliError {
    /// Process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) => 2,
            CliError::Runtime(_) | CliError::Differs(_) => 1,
            CliError::Interrupted => 130,
        }
    }
}

impl From<clea_sim::scenario::ScenarioError> for CliError {
    fn from(e: clea_sim::scenario::ScenarioError) -> Self {
        CliError::Input(e.to_string())
    }
}

impl From<clea_bus::BusError> for CliError {
    fn from(e: clea_bus::BusError) -> Self {
        match e {
            // A bad endpoint or name comes from the command line or a file: bad input.
            clea_bus::BusError::Config(_) | clea_bus::BusError::InvalidName(_) => {
                CliError::Input(e.to_string())
            }
            e => CliError::Runtime(e.into()),
        }
    }
}

impl From<clea_agent::AgentError> for CliError {
    fn from(e: clea_agent::AgentError) -> Self {
        CliError::Runtime(e.into())
    }
}
