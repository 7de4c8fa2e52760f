//! `clea plan`: a classical planner in the field's interface.

use crate::error::CliError;
use clap::Args;
use clea_domain::{search, GroundError, Limits, SearchError, Task};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Plan for a PDDL domain and problem with the embedded planner (grounding, then greedy
/// best-first search with the FF heuristic and preferred operators).
///
/// Prints the plan one action a line as `(action arg1 arg2)` and a final `; cost = N (unit
/// cost)` line (the IPC plan format that Fast Downward writes and VAL reads), or with `--json`
/// `{"plan":[{"action","args"}],"cost","solved",...}`. Exit 1 with the reason when no plan
/// exists or a limit is reached first; exit 2 when a file does not parse or check.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The PDDL domain file.
    domain: PathBuf,
    /// The PDDL problem file.
    problem: PathBuf,
    /// Print JSON for machines instead of the IPC plan format.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds (0: no limit).
    #[arg(long, default_value_t = 300.0, value_name = "S")]
    timeout_s: f64,
    /// Give up when the search's stored states reach this many MiB.
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    memory_mib: usize,
    /// Also write the plan (IPC format) to this file.
    #[arg(long, value_name = "FILE")]
    plan_file: Option<PathBuf>,
    /// After the first plan, keep searching for shorter ones until --timeout-s (weighted A*
    /// with weights 5, 3, 2, 1, as LAMA's later iterations) and print the best.
    #[arg(long)]
    anytime: bool,
}

pub async fn run(args: PlanArgs) -> Result<(), CliError> {
    if !(args.timeout_s.is_finite()
        && (0.0..=clea_sim::scenario::MAX_SECONDS).contains(&args.timeout_s))
    {
        return Err(CliError::Input(format!(
            "--timeout-s: {} is not a number of seconds in [0, {}]",
            args.timeout_s,
            clea_sim::scenario::MAX_SECONDS
        )));
    }
    if args.memory_mib == 0 {
        return Err(CliError::Input("--memory-mib: must be at least 1".into()));
    }
    let t0 = Instant::now();
    let domain =
        clea_domain::read_domain(&args.domain).map_err(|e| CliError::Input(e.to_string()))?;
    let problem = clea_domain::read_problem(&domain, &args.problem)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let limits = Limits {
        deadline: (args.timeout_s > 0.0).then(|| t0 + Duration::from_secs_f64(args.timeout_s)),
        cancel: Some(cancel.clone()),
        memory_bytes: args.memory_mib.saturating_mul(1 << 20),
    };
    // Grounding and search run on a blocking thread; Ctrl-C cancels them through the flag.
    let watcher = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            clea_agent::episode::wait_for_interrupt().await;
            cancel.store(true, Ordering::Relaxed);
        }
    });
    let anytime = args.anytime;
    let outcome = tokio::task::spawn_blocking(move || {
        let task = Task::ground_within(&domain, &problem, &limits)?;
        let grounded = t0.elapsed();
        let r = search::plan(&task, &limits);
        let first = r.as_ref().ok().map(|p| (p.actions.len(), t0.elapsed()));
        let r = match r {
            Ok(p) if anytime => Ok(search::improve(&task, &task.init, &task.goal, p, &limits)),
            r => r,
        };
        Ok::<_, GroundError>((task, grounded, r, first))
    })
    .await
    .map_err(|e| CliError::Runtime(anyhow::anyhow!("the planner thread failed: {e}")))?;
    watcher.abort();
    let elapsed = t0.elapsed();
    let (task, grounded, result, first) = match outcome {
        Ok((task, grounded, result, first)) => (Some(task), grounded, result, first),
        Err(GroundError::Domain(e)) => return Err(CliError::Input(e.to_string())),
        Err(GroundError::Limit(l)) => (None, elapsed, Err(l), None),
        Err(e) => return Err(CliError::Runtime(anyhow::anyhow!("{e}"))),
    };
    let plan = match result {
        Ok(p) => p,
        Err(SearchError::Cancelled) => return Err(CliError::Interrupted),
        Err(e) => {
            let what = match e {
                SearchError::Timeout => format!("{e} ({} s)", args.timeout_s),
                SearchError::OutOfMemory => format!("{e} ({} MiB)", args.memory_mib),
                _ => e.to_string(),
            };
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"solved": false, "reason": what, "time_s": elapsed.as_secs_f64()})
                );
            }
            return Err(CliError::Runtime(anyhow::anyhow!(
                "{}: {what}",
                args.problem.display()
            )));
        }
    };
    let task = task.ok_or_else(|| CliError::Runtime(anyhow::anyhow!("a plan without its task")))?;
    let mut ipc = String::new();
    for a in &plan.actions {
        ipc.push_str(&task.action_text(*a));
        ipc.push('\n');
    }
    ipc.push_str(&format!("; cost = {} (unit cost)\n", plan.actions.len()));
    if args.json {
        let steps: Vec<_> = plan
            .actions
            .iter()
            .map(|a| {
                let (name, args) = task.action_call(*a);
                serde_json::json!({"action": name, "args": args})
            })
            .collect();
        let out = serde_json::json!({
            "solved": true,
            "plan": steps,
            "cost": plan.actions.len(),
            "ground_atoms": task.atoms.len(),
            "ground_actions": task.actions.len(),
            "expanded": plan.stats.expanded,
            "generated": plan.stats.generated,
            "ground_time_s": grounded.as_secs_f64(),
            "first_plan_cost": first.map(|f| f.0),
            "first_plan_time_s": first.map(|f| f.1.as_secs_f64()),
            "time_s": elapsed.as_secs_f64(),
        });
        println!("{out}");
    } else {
        print!("{ipc}");
    }
    // The plan is printed first, so a file that cannot be written loses nothing.
    if let Some(f) = &args.plan_file {
        std::fs::write(f, &ipc).map_err(|e| {
            CliError::Runtime(anyhow::anyhow!("{}: cannot write: {e}", f.display()))
        })?;
    }
    Ok(())
}
