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
    // zenoh's open blocks its thread (it waits inside the future) until a router answers, so it
    // runs on a thread of its own, outside the runtime: this one stays free to time out and to
    // hear signals.
    let (tx, open) = tokio::sync::oneshot::channel();
    let cfg = config.clone();
    std::thread::Builder::new()
        .name("zenoh-open".into())
        .spawn(move || {
            let bus = futures::executor::block_on(Bus::open(&cfg)).map_err(CliError::from);
            let _ = tx.send(bus);
        })
        .map_err(|e| CliError::Runtime(e.into()))?;
    let open = async {
        open.await
            .unwrap_or_else(|_| Err(CliError::Runtime(anyhow::anyhow!("zenoh open failed"))))
    };
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
