//! The embedded planner beside its anchor, Fast Downward `lama-first` (PyPI `up-fast-downward`),
//! on generated kitchen-like problems of growing size (`scripts/gen-kitchen-problems.py`, the
//! same generator as `scripts/bench-planners.py` and the README's table): time from the PDDL
//! text to the first plan. Both run in the same process of `cargo bench`, one after the other,
//! and the ratio of their mean times is printed at the end (these machines are noisy; the ratio
//! is the figure to compare, the goal is at most 0.25).
//!
//! Run: `cargo bench -p clea-domain --bench planner` (after `scripts/setup.sh`, which installs
//! Fast Downward into `.venv`; without it only the embedded planner is measured).

use criterion::{criterion_group, criterion_main, Criterion};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// (receptacles, items, robots): from the kitchen's size to where Fast Downward takes seconds.
const SIZES: [(u32, u32, u32); 4] = [(10, 10, 2), (20, 20, 2), (40, 60, 2), (80, 120, 3)];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    std::env::var_os("CLEA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

fn generate(dir: &Path, (r, o, n): (u32, u32, u32)) -> PathBuf {
    let out = Command::new("python3")
        .arg(root().join("scripts/gen-kitchen-problems.py"))
        .args(["--receptacles", &r.to_string(), "--objects", &o.to_string()])
        .args(["--robots", &n.to_string(), "--out"])
        .arg(dir)
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    dir.join(format!("{name}.pddl"))
}

fn fast_downward() -> Option<PathBuf> {
    let out = Command::new(python())
        .args([
            "-c",
            "import up_fast_downward, os; print(os.path.dirname(up_fast_downward.__file__))",
        ])
        .output()
        .ok()?;
    out.status.success().then(|| {
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("downward/fast-downward.py")
    })
}

fn clea_first_plan(domain: &str, problem: &str) -> usize {
    let d = clea_domain::parse_domain(domain).expect("domain");
    let p = clea_domain::parse_problem(&d, problem).expect("problem");
    let t = clea_domain::Task::ground(&d, &p).expect("grounds");
    clea_domain::search::plan(&t, &Default::default())
        .expect("a plan")
        .actions
        .len()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let domain_path = root().join("sim/domains/clea-kitchen/domain.pddl");
    let domain = std::fs::read_to_string(&domain_path).expect("kitchen domain");
    let fd = fast_downward();
    if fd.is_none() {
        eprintln!("Fast Downward is not installed (scripts/setup.sh): the anchor is skipped");
    }
    let means: RefCell<BTreeMap<(String, &str), Duration>> = RefCell::default();
    let mut g = c.benchmark_group("first_plan");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for size in SIZES {
        let problem_path = generate(dir.path(), size);
        let problem = std::fs::read_to_string(&problem_path).expect("problem");
        let name = format!("r{}-o{}-n{}", size.0, size.1, size.2);
        g.bench_function(format!("{name}/clea"), |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(clea_first_plan(&domain, &problem));
                }
                let total = t0.elapsed();
                means
                    .borrow_mut()
                    .insert((name.clone(), "clea"), total / iters as u32);
                total
            })
        });
        let Some(fd) = &fd else { continue };
        let work = tempfile::tempdir().expect("tmp");
        g.bench_function(format!("{name}/fast-downward-lama-first"), |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                for _ in 0..iters {
                    let out = Command::new(python())
                        .arg(fd)
                        .args(["--alias", "lama-first", "--plan-file"])
                        .arg(work.path().join("plan"))
                        .arg(&domain_path)
                        .arg(&problem_path)
                        .current_dir(work.path())
                        .output()
                        .expect("fast downward runs");
                    assert!(
                        out.status.success(),
                        "Fast Downward found no plan for {name}"
                    );
                }
                let total = t0.elapsed();
                means
                    .borrow_mut()
                    .insert((name.clone(), "fd"), total / iters as u32);
                total
            })
        });
    }
    g.finish();
    let means = means.borrow();
    eprintln!("\nfirst plan, mean of the last sample: clea / Fast Downward lama-first");
    for size in SIZES {
        let name = format!("r{}-o{}-n{}", size.0, size.1, size.2);
        let ours = means.get(&(name.clone(), "clea"));
        let theirs = means.get(&(name.clone(), "fd"));
        if let (Some(a), Some(b)) = (ours, theirs) {
            eprintln!(
                "  {name}: {a:?} / {b:?} = {:.3}",
                a.as_secs_f64() / b.as_secs_f64()
            );
        }
    }
}

criterion_group!(planner, benches);
criterion_main!(planner);
