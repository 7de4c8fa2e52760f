//! `clea replay --max-rate` speed: re-publishing a kitchen episode log as fast as possible.
//!
//! The log is recorded once, in-process, from the closed-loop agent on task 8 with simulated
//! skills that take 0.2 s each (real skills take seconds; with instantaneous simulated skills a
//! whole episode spans only milliseconds). Criterion reports the time to replay it; the speedup
//! over real time (log span / replay time) is printed. Target: ≥ 100×.
//!
//! Run: `cargo bench -p clea-launch --bench replay`.

use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_bus::record::{read_log, replay, Recorder, RecorderOptions, ReplayOptions};
use clea_bus::{Bus, BusConfig, Keys};
use clea_sim::scenario::load;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("task-08.mcap");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/scenarios/clea-kitchen");
    let mut scenario = load(&root.join("task-08-find-roast-apple.yaml")).unwrap();
    scenario.skill_duration_s = 0.2;
    let bus = rt.block_on(Bus::open(&BusConfig::default())).unwrap();
    rt.block_on(async {
        let ep = Bus {
            session: bus.session.clone(),
            keys: Keys::new("record").unwrap(),
        };
        let _sim = clea_sim::robots::serve(&ep, &scenario, None).await.unwrap();
        let _actors = ActorSet::symbolic(&ep, &ActorKind::ALL, 16, Duration::from_secs(30))
            .await
            .unwrap();
        let rec = Recorder::start(&ep, &path, RecorderOptions::default())
            .await
            .unwrap();
        let report = run_episode(&ep, &EpisodeOptions::default()).await.unwrap();
        assert!(report.success);
        rec.finish().await.unwrap();
    });
    let log = read_log(&path).unwrap();
    let replay_bus = Bus {
        session: bus.session.clone(),
        keys: Keys::new("replay").unwrap(),
    };
    let opts = ReplayOptions {
        rate: None,
        topics: None,
        namespace: None,
    };
    let stats = rt
        .block_on(replay(&replay_bus, &log, &opts, |_| {}))
        .unwrap();
    eprintln!(
        "replay --max-rate: {} messages spanning {:.3} s replayed in {:.6} s = {:.0}x real time",
        stats.messages,
        stats.log_span_s,
        stats.wall_s,
        stats.speedup()
    );
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(log.messages.len() as u64));
    g.bench_function("max_rate/task-08", |b| {
        b.iter(|| {
            rt.block_on(replay(&replay_bus, &log, &opts, |_| {}))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(replay_bench, benches);
criterion_main!(replay_bench);
