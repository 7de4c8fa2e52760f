//! Plan for a PDDL domain and problem and print the plan in the IPC format:
//! `cargo run -p clea-domain --example plan -- DOMAIN.pddl PROBLEM.pddl`.
//! (`clea plan` is the full command, with `--json` and limits.)
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, d, p] = args.as_slice() else {
        return Err("usage: plan DOMAIN.pddl PROBLEM.pddl".into());
    };
    let domain = clea_domain::read_domain(Path::new(d))?;
    let problem = clea_domain::read_problem(&domain, Path::new(p))?;
    let t0 = std::time::Instant::now();
    let task = clea_domain::Task::ground(&domain, &problem)?;
    let ground = t0.elapsed();
    let plan = clea_domain::search::plan(&task, &Default::default())?;
    for a in &plan.actions {
        println!("{}", task.action_text(*a));
    }
    eprintln!(
        "; {} actions, {} atoms, {} ground actions, ground {:?}, search {:?}, {:?}",
        plan.actions.len(),
        task.atoms.len(),
        task.actions.len(),
        ground,
        t0.elapsed() - ground,
        plan.stats
    );
    Ok(())
}
