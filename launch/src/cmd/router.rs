//! `clea router`: a zenoh router that the processes of a deployment connect to.

use crate::error::CliError;
use clap::Args;

/// Run a zenoh router: robots (`clea sim --serve`, `clea run` of a robot file), agents and
/// perception processes connect to it and hear each other through it, until Ctrl-C.
///
/// Every process of a deployment names this router's endpoint in `connect:` (its launch file's
/// `bus:` section, or `--connect`); none needs to listen. Peers that only connect to the same
/// process that is not a router exchange nothing, and nothing fails: this is the topology that
/// cannot drop data silently. Routers of several sites join with `--connect`.
#[derive(Debug, Args)]
pub struct RouterArgs {
    /// zenoh endpoint to listen on (repeatable); use tcp/0.0.0.0:7447 to serve other machines.
    #[arg(long, default_value = "tcp/127.0.0.1:7447")]
    pub listen: Vec<String>,
    /// Another router to connect to (repeatable).
    #[arg(long)]
    pub connect: Vec<String>,
}

/// Run `clea router`.
pub async fn run(args: RouterArgs) -> Result<(), CliError> {
    let config = clea_bus::session::router_config(&args.listen, &args.connect)?;
    let session = zenoh::open(config).await.map_err(|e| {
        CliError::Runtime(anyhow::anyhow!(
            "cannot start the router on {:?}: {e} (is the port taken?)",
            args.listen
        ))
    })?;
    eprintln!(
        "clea: zenoh router {} listening on {:?}, connected to {:?}; Ctrl-C stops",
        session.zid(),
        args.listen,
        args.connect
    );
    // Ctrl-C or SIGTERM (the binary's handler turns both into the interrupt).
    clea_agent::episode::wait_for_interrupt().await;
    session
        .close()
        .await
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("closing the router: {e}")))?;
    Ok(())
}
