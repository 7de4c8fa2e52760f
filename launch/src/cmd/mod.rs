//! One module per subcommand.

pub mod bench_eai;
pub mod diff;
#[cfg(feature = "perception")]
pub mod perceive;
pub mod plan;
pub mod replay;
pub mod rerun;
pub mod router;
pub mod run;
pub mod schema;
pub mod sim;
pub mod sim_domain;
pub mod team_claim;

use crate::error::CliError;
use clea_bus::session::SessionMode;
use clea_bus::{Bus, BusConfig};
use std::time::Duration;

/// Open the bus of `config`. A client waits for its router (so processes start in any order),
/// saying so on stderr after a second; with `limit`, it gives up after that long, and Ctrl-C /
/// SIGTERM end the wait.
///
/// # Errors
/// [`CliError::Input`] for bad endpoints or names, [`CliError::Runtime`] when zenoh cannot open
/// or no router answered within `limit`, [`CliError::Interrupted`] on a signal while waiting.
pub(crate) async fn join_bus(config: &BusConfig, limit: Option<Duration>) -> Result<Bus, CliError> {
    if config.mode != SessionMode::Client {
        return Ok(Bus::open(config).await?);
    }
    // A client's open yields while it waits for the router (clea_bus runs it on its own
    // thread), so it can be timed out and interrupted here.
    let open = async { Ok(Bus::open(config).await?) };
    tokio::pin!(open);
    let quiet = limit.map_or(Duration::from_secs(1), |l| l.min(Duration::from_secs(1)));
    if let Ok(bus) = tokio::time::timeout(quiet, &mut open).await {
        return bus;
    }
    let gave_up = |l: Duration| {
        CliError::Runtime(anyhow::anyhow!(
            "no router answered at {} within {} s (start `clea router --listen ...` there)",
            config.connect.join(", "),
            l.as_secs_f64()
        ))
    };
    if let Some(l) = limit.filter(|l| *l <= quiet) {
        return Err(gave_up(l));
    }
    eprintln!(
        "clea: waiting for the router at {} (mode client; is `clea router` running?)",
        config.connect.join(", ")
    );
    let deadline = async {
        match limit {
            Some(l) => tokio::time::sleep(l - quiet).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        bus = open => bus,
        () = deadline => Err(gave_up(limit.unwrap_or_default())),
        () = clea_agent::episode::wait_for_interrupt() => Err(CliError::Interrupted),
    }
}
