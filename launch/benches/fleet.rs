//! Load and scale: N concurrent episodes (N = 1, 4, 16, 64) of the CLEA kitchen's task 08, one
//! robot team each, the agents (observer, memory, planner, critic, executor per team) in this
//! process. Two topologies:
//!
//! - `in_process` (the anchor): the simulated robots in this process too, on its one zenoh peer
//!   session;
//! - `router`: the robots in another process (`clea sim --serve --team ...`), this process and
//!   that one both clients of a `clea router`, so every message crosses two TCP hops.
//!
//! criterion reports `fleet/<topology>/<N>` in episodes per second (× 60: episodes per minute).
//! Then one table on stdout: episodes per minute, loop step latency p50 / p99 (the time between
//! consecutive executed actions of one episode, as a subscriber of `clea/*/action` sees them),
//! and the router's throughput as a share of the anchor's, measured in the same run.
//!
//! Run: `cargo bench -p clea-launch --bench fleet`; one core: `CLEA_BENCH_WORKERS=1 taskset -c 0
//! cargo bench -p clea-launch --bench fleet` (the runtime's worker threads default to 2).

use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::episode::{run_episode, EpisodeOptions};
use clea_bus::session::SessionMode;
use clea_bus::{Bus, BusConfig, Keys};
use criterion::{BenchmarkId, Criterion, Throughput};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [1, 4, 16, 64];
const SCENARIO: &str = "sim/scenarios/clea-kitchen/task-08-find-roast-apple.yaml";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `clea` child process, killed on drop, once it printed a line containing `ready`.
struct Clea(Child);

impl Clea {
    fn start(args: &[&str], ready: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clea"))
            .args(args)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clea");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        // Blocks until the line or the end of its stderr (the process ended): never forever.
        let seen = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains(ready));
        assert!(
            seen.is_some(),
            "clea {args:?} ended before saying {ready:?}"
        );
        // Keep draining, so that its writes never block.
        std::thread::spawn(move || lines.for_each(drop));
        Self(child)
    }
}

impl Drop for Clea {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The teams of one topology: a bus per team, its agent's actors alive as long as it is.
struct Fleet {
    teams: Vec<Bus>,
    _agents: Vec<ActorSet>,
    _robots: Vec<clea_sim::robots::SimHandle>,
}

async fn agents(session: &Bus, names: &[String]) -> (Vec<Bus>, Vec<ActorSet>) {
    let mut teams = Vec::new();
    let mut sets = Vec::new();
    for n in names {
        let bus = Bus {
            session: session.session.clone(),
            keys: Keys::new(n).unwrap(),
        };
        sets.push(
            ActorSet::symbolic(&bus, &ActorKind::ALL, 16, Duration::from_secs(30))
                .await
                .unwrap(),
        );
        teams.push(bus);
    }
    (teams, sets)
}

/// Run `n` episodes at once, one per team; returns the wall time.
async fn round(fleet: &Fleet, n: usize) -> Duration {
    let t0 = Instant::now();
    let opts = EpisodeOptions::default();
    let runs = fleet.teams[..n].iter().map(|bus| run_episode(bus, &opts));
    for r in futures::future::join_all(runs).await {
        let r = r.unwrap();
        assert!(r.success, "{}: {}", r.scenario, r.reason);
    }
    t0.elapsed()
}

/// When each action record arrived, per key (`clea/<team>/action`).
type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Quantile `q` in [0, 1] of sorted `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

fn main() {
    let workers: usize = std::env::var("CLEA_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    let max = *SIZES.iter().max().unwrap();
    let id = std::process::id();
    let names = |t: &str| -> Vec<String> { (0..max).map(|i| format!("fb{id}-{t}{i}")).collect() };

    // The anchor: robots and agents on one peer session.
    let local = rt.block_on(Bus::open(&BusConfig::default())).unwrap();
    let scenario = clea_sim::scenario::load(&root().join(SCENARIO)).unwrap();
    let in_process = rt.block_on(async {
        let (teams, agents) = agents(&local, &names("l")).await;
        let mut robots = Vec::new();
        for bus in &teams {
            robots.push(clea_sim::robots::serve(bus, &scenario, None).await.unwrap());
        }
        Fleet {
            teams,
            _agents: agents,
            _robots: robots,
        }
    });

    // Through a router: the robots in another process.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let _router = Clea::start(&["router", "--listen", &endpoint], "zenoh router");
    let remote_names = names("r");
    let mut args = vec![
        "sim",
        SCENARIO,
        "--serve",
        "--mode",
        "client",
        "--connect",
        &endpoint,
    ];
    for n in &remote_names {
        args.extend(["--team", n.as_str()]);
    }
    let _robots = Clea::start(&args, "serving scenario");
    let client = rt
        .block_on(Bus::open(&BusConfig {
            connect: vec![endpoint.clone()],
            mode: SessionMode::Client,
            ..BusConfig::default()
        }))
        .unwrap();
    let through_router = rt.block_on(async {
        let (teams, agents) = agents(&client, &remote_names).await;
        Fleet {
            teams,
            _agents: agents,
            _robots: Vec::new(),
        }
    });

    let topologies = [("in_process", &in_process), ("router", &through_router)];
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("fleet");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, fleet) in topologies {
        for n in SIZES {
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += round(fleet, n).await;
                        }
                        total
                    })
                })
            });
        }
    }
    g.finish();

    // The table: at least 64 episodes per cell; step gaps from the action records.
    let arrivals: Arrivals = Arc::default();
    // Stamped as zenoh delivers each record (a callback, no queue in between).
    let _watch: Vec<_> = [&local, &client]
        .into_iter()
        .map(|bus| {
            let arrivals = arrivals.clone();
            rt.block_on(async {
                bus.session
                    .declare_subscriber("clea/*/action")
                    .callback(move |s| {
                        let key = s.key_expr().as_str().to_string();
                        let mut a = arrivals.lock().unwrap();
                        a.entry(key).or_default().push(Instant::now());
                    })
                    .await
            })
            .unwrap()
        })
        .collect();
    println!();
    println!(
        "| concurrent episodes | in process: episodes/min | step p50 / p99 (ms) | router: episodes/min | step p50 / p99 (ms) | router / in process |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let mut cells = Vec::new();
        let mut rates = Vec::new();
        for (_, fleet) in topologies {
            let rounds = (max / n).max(1);
            let (mut wall, mut gaps) = (Duration::ZERO, Vec::new());
            for _ in 0..rounds {
                arrivals.lock().unwrap().clear();
                wall += rt.block_on(round(fleet, n));
                // A record is delivered (on this process's session) before its episode goes
                // on, so a round's records are all in; gaps are within one team's episode.
                for times in arrivals.lock().unwrap().values() {
                    gaps.extend(times.windows(2).map(|w| w[1] - w[0]));
                }
            }
            gaps.sort();
            let rate = (rounds * n) as f64 / wall.as_secs_f64() * 60.0;
            rates.push(rate);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            cells.push(format!("{rate:.0}"));
            cells.push(if gaps.is_empty() {
                "-".to_string()
            } else {
                format!(
                    "{:.2} / {:.2}",
                    ms(quantile(&gaps, 0.5)),
                    ms(quantile(&gaps, 0.99))
                )
            });
        }
        println!(
            "| {n} | {} | {} | {} | {} | {:.2} |",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            rates[1] / rates[0]
        );
    }
    println!("(runtime worker threads: {workers}; scenario {SCENARIO})");
}
