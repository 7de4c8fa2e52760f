//! `clea replay`: play an episode log back onto the bus, like `ros2 bag play`.

use crate::error::CliError;
use clap::Args;
use clea_bus::record::{read_log, replay, ReplayOptions};
use clea_bus::{Bus, BusConfig};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Re-publish the recorded bus messages of an episode log on their original key expressions,
/// with their original timing (scaled by --rate), so perception, the observer and tools can be
/// developed against a log.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Episode log (MCAP) written by `clea sim --log-dir` or `clea run`.
    pub log: PathBuf,
    /// Time scale: 1 plays at the recorded pace, 2 twice as fast.
    #[arg(long, default_value_t = 1.0, conflicts_with = "max_rate")]
    pub rate: f64,
    /// Publish as fast as possible.
    #[arg(long)]
    pub max_rate: bool,
    /// Only topics that intersect this zenoh key expression, e.g. 'clea/*/robot/**' (matched
    /// against the recorded topics).
    #[arg(long)]
    pub topics: Option<String>,
    /// Publish under clea/<NAMESPACE>/ instead of the recorded namespace (`clea sim` records
    /// episode i under clea/<ns>-ep<i>/), e.g. to feed a running agent or viewer in `clea`.
    #[arg(long)]
    pub namespace: Option<String>,
    /// zenoh endpoint to connect to (repeatable), e.g. tcp/127.0.0.1:7447.
    #[arg(long)]
    pub connect: Vec<String>,
    /// zenoh endpoint to listen on (repeatable).
    #[arg(long)]
    pub listen: Vec<String>,
    /// Before publishing, wait up to this long for another zenoh peer to connect, s.
    #[arg(long, default_value_t = 0.0)]
    pub wait_for_peer: f64,
}

/// Run `clea replay`.
pub async fn run(args: ReplayArgs) -> Result<(), CliError> {
    if !(1e-3..=1e6).contains(&args.rate) {
        return Err(CliError::Input(format!(
            "--rate: {} is not a factor in [0.001, 1e6]",
            args.rate
        )));
    }
    if !(0.0..=1e6).contains(&args.wait_for_peer) {
        return Err(CliError::Input(format!(
            "--wait-for-peer: {} is not a time in [0, 1e6] s",
            args.wait_for_peer
        )));
    }
    let log = read_log(&args.log).map_err(|e| CliError::Input(e.to_string()))?;
    if log.truncated {
        eprintln!(
            "clea: {} was cut short (no footer: the writer stopped mid-episode); replaying up to its last complete chunk",
            args.log.display()
        );
    }
    let bus = Bus::open(&BusConfig {
        listen: args.listen.clone(),
        connect: args.connect.clone(),
        ..Default::default()
    })
    .await?;
    if args.wait_for_peer > 0.0 {
        let t0 = Instant::now();
        let deadline = Duration::from_secs_f64(args.wait_for_peer);
        while t0.elapsed() < deadline {
            let peers = bus.session.info().peers_zid().await.count();
            if peers > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let pb = if log.messages.len() > 100 {
        let pb = ProgressBar::new(log.messages.len() as u64);
        pb.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} messages").expect("static template"),
        );
        pb
    } else {
        ProgressBar::hidden()
    };
    let opts = ReplayOptions {
        rate: (!args.max_rate).then_some(args.rate),
        topics: args.topics.clone(),
        namespace: args.namespace.clone(),
    };
    let stats = replay(&bus, &log, &opts, |n| pb.set_position(n))
        .await
        .map_err(|e| CliError::Input(e.to_string()))?;
    pb.finish_and_clear();
    println!(
        "replayed {} messages spanning {:.3} s in {:.3} s ({:.1}x real time){}",
        stats.messages,
        stats.log_span_s,
        stats.wall_s,
        stats.speedup(),
        if log.truncated {
            "; the log was cut short"
        } else {
            ""
        }
    );
    Ok(())
}
