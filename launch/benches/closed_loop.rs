//! Closed-loop performance on one process, simulated skills instantaneous.
//!
//! - `loop/step`: wall time per executed skill of the full CLEA loop (observer, memory, planner,
//!   critic, executor actors over the in-process zenoh session, the episode controller, the
//!   simulated robots), episode set-up included. Target: median ≤ 0.5 ms.
//! - `suite/kitchen`: the whole CLEA kitchen suite, one episode per scenario; criterion reports
//!   episodes per second (× 60 for episodes per minute). Target ≥ 2,000 episodes per minute.
//!
//! Run: `cargo bench -p clea-launch --bench closed_loop`.

use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_bus::{Bus, BusConfig, Keys};
use clea_sim::scenario::{load, load_path, Scenario};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static EPISODE: AtomicU64 = AtomicU64::new(0);

/// One closed-loop episode in a fresh namespace; returns the steps it executed.
async fn episode(bus: &Bus, s: &Scenario) -> u32 {
    let n = EPISODE.fetch_add(1, Ordering::Relaxed);
    let bus = Bus {
        session: bus.session.clone(),
        keys: Keys::new(&format!("bench-{n}")).unwrap(),
    };
    let _sim = clea_sim::robots::serve(&bus, s, None).await.unwrap();
    let _actors = ActorSet::symbolic(&bus, &ActorKind::ALL, 16, Duration::from_secs(30))
        .await
        .unwrap();
    let report = run_episode(&bus, &EpisodeOptions::default()).await.unwrap();
    assert!(report.success, "{}: {}", report.scenario, report.reason);
    report.steps
}

fn benches(c: &mut Criterion) {
    let workers: usize = std::env::var("CLEA_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let bus = rt.block_on(Bus::open(&BusConfig::default())).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/scenarios/clea-kitchen");
    let task8 = load(&root.join("task-08-find-roast-apple.yaml")).unwrap();
    let suite = load_path(&root).unwrap();

    let mut g = c.benchmark_group("loop");
    g.throughput(Throughput::Elements(1));
    g.bench_function("step", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let (mut steps, t0) = (0u64, Instant::now());
                while steps < iters {
                    steps += u64::from(episode(&bus, &task8).await);
                }
                t0.elapsed().mul_f64(iters as f64 / steps as f64)
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("suite");
    g.sample_size(10);
    g.throughput(Throughput::Elements(suite.len() as u64));
    g.bench_function("kitchen", |b| {
        b.iter(|| {
            rt.block_on(async {
                for s in &suite {
                    episode(&bus, s).await;
                }
            })
        })
    });
    g.finish();
}

criterion_group!(closed_loop, benches);
criterion_main!(closed_loop);
