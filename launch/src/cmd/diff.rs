//! `clea diff`: two episode logs side by side, decisions only, first divergence marked.

use crate::error::CliError;
use crate::trace::{common_kinds, decisions, first_divergence, side_by_side};
use clap::Args;
use clea_bus::record::read_log;
use std::path::PathBuf;

/// Compare the decisions of two episode logs: plans, verdicts, executed actions with their
/// outcomes, and the end; print them side by side with the first divergence marked (`>>`).
///
/// Exit code 0 when the decisions are identical, 1 when they differ.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First log (`a`).
    pub a: PathBuf,
    /// Second log (`b`).
    pub b: PathBuf,
    /// Rows shown around the first divergence (all rows when the logs agree).
    #[arg(long, default_value_t = 6)]
    pub context: usize,
    /// Print every row, not only those around the divergence.
    #[arg(long)]
    pub all: bool,
}

/// Run `clea diff`.
pub async fn run(args: DiffArgs) -> Result<(), CliError> {
    let read = |p: &PathBuf| read_log(p).map_err(|e| CliError::Input(e.to_string()));
    let (la, lb) = (read(&args.a)?, read(&args.b)?);
    for (name, log, path) in [("a", &la, &args.a), ("b", &lb, &args.b)] {
        if log.truncated {
            eprintln!(
                "clea: {name} = {} was cut short (no footer: the writer stopped mid-episode); compared up to its last complete chunk",
                path.display()
            );
        }
    }
    let (mut da, mut db) = (decisions(&la), decisions(&lb));
    for kind in common_kinds(&mut da, &mut db) {
        eprintln!("clea: only one log has {kind} decisions; comparing the others");
    }
    let div = first_divergence(&da, &db);
    let shown = if args.all { None } else { div };
    println!("{}", side_by_side(&da, &db, shown, args.context));
    match div {
        None => {
            println!("identical: {} decisions", da.len());
            Ok(())
        }
        Some(i) => {
            let step = da.get(i).or(db.get(i)).map_or(0, |d| d.step());
            println!(
                "first divergence at decision {i} (step {step}): a has {} decisions, b has {}",
                da.len(),
                db.len()
            );
            Err(CliError::Differs(format!("the logs part at step {step}")))
        }
    }
}
