//! `clea`: the CLEA runtime's command-line entry point.
//!
//! Exit codes: 0 when the command ran (episodes may still have failed; see the table), 1 for a
//! runtime failure, 2 for bad input (a scenario, plan or launch file that does not check).

mod cmd;
mod error;
mod launchfile;
mod perception;
mod robotfile;
mod table;
mod trace;

use clap::{Parser, Subcommand, ValueEnum};

/// CLEA runtime: a closed-loop embodied agent (observer, memory, planner, critic) driving robot
/// skills over zenoh.
#[derive(Debug, Parser)]
#[command(name = "clea", version, propagate_version = true)]
struct Cli {
    /// Log format on stderr; the level comes from RUST_LOG (default: warn, and error for zenoh's
    /// own transport chatter).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for machines.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    Sim(cmd::sim::SimArgs),
    Run(cmd::run::RunArgs),
    Replay(cmd::replay::ReplayArgs),
    Rerun(cmd::rerun::RerunArgs),
    Diff(cmd::diff::DiffArgs),
    Plan(cmd::plan::PlanArgs),
    /// Benchmarks against work written elsewhere (Embodied Agent Interface's VirtualHome).
    Bench(cmd::bench_eai::BenchArgs),
    Schema(cmd::schema::SchemaArgs),
    Router(cmd::router::RouterArgs),
    #[cfg(feature = "perception")]
    Perceive(cmd::perceive::PerceiveArgs),
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // zenoh warns about scouting and link retries that the commands report themselves.
        tracing_subscriber::EnvFilter::new("warn,zenoh=error,zenoh_transport=error")
    });
    // Span close events carry each span's busy and idle time: the per-step and per-module
    // timings (episode > step > module).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clea: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        // First Ctrl-C / SIGTERM: running episodes engage the e-stop, end as Stopped, close their
        // logs and print their rows. A second one exits at once.
        tokio::spawn(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut first = true;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
                }
                if !first {
                    eprintln!("clea: interrupted twice; exiting now");
                    std::process::exit(130);
                }
                first = false;
                eprintln!("clea: interrupted; stopping (again to exit at once)");
                clea_agent::episode::interrupt();
            }
        });
        match cli.command {
            Command::Sim(args) => cmd::sim::run(args).await,
            Command::Run(args) => cmd::run::run(args).await,
            Command::Replay(args) => cmd::replay::run(args).await,
            Command::Rerun(args) => cmd::rerun::run(args).await,
            Command::Diff(args) => cmd::diff::run(args).await,
            Command::Plan(args) => cmd::plan::run(args).await,
            Command::Bench(args) => cmd::bench_eai::run(args).await,
            Command::Schema(args) => cmd::schema::run(args).await,
            Command::Router(args) => cmd::router::run(args).await,
            #[cfg(feature = "perception")]
            Command::Perceive(args) => cmd::perceive::run(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("clea: {e}");
        std::process::exit(e.exit_code());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
