//! `clea-test-skill-server`: a skill server process for the multi-process protocol tests.
//!
//! ```text
//! clea-test-skill-server --listen tcp/127.0.0.1:PORT [--namespace NS] [--exit-with-stdin]
//! ```
//!
//! Opens a bus listening on the endpoint, declares a skill server for `robot_1` with the skills
//! `go_to` and `pick_from`, prints `READY`, and serves every goal in its own task. The behaviour
//! is chosen by the call's `navigation_point` (or `object`) argument; see the constants of
//! `clea_tests` (`fast`, `slow`, `reject_me`, `die`, `fail`). Other values are rejected.
//!
//! Stdout carries one line per event (`READY`, `GOAL <id> <behaviour>`, `FINISHED <id> <outcome>`,
//! `DYING`), for tests to follow. With `--exit-with-stdin` the process exits when its stdin
//! closes, so it never outlives the test that spawned it.

use clea_bus::action::{ActiveGoal, IncomingGoal, SkillServer};
use clea_bus::msg::SkillOutcome;
use clea_bus::{Bus, BusConfig, BusError};
use clea_tests as t;
use std::io::Write;

fn say(line: &str) {
    // Never panic on a closed stdout (a test that stopped listening).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "clea-test-skill-server: {msg}\n\
         usage: clea-test-skill-server --listen ENDPOINT [--namespace NS] [--exit-with-stdin]"
    );
    std::process::exit(2)
}

struct Args {
    listen: String,
    namespace: String,
    exit_with_stdin: bool,
}

fn parse_args() -> Args {
    let mut listen = None;
    let mut namespace = clea_bus::session::DEFAULT_NAMESPACE.to_string();
    let mut exit_with_stdin = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => {
                listen = Some(
                    args.next()
                        .unwrap_or_else(|| usage("--listen needs a value")),
                )
            }
            "--namespace" => {
                namespace = args
                    .next()
                    .unwrap_or_else(|| usage("--namespace needs a value"))
            }
            "--exit-with-stdin" => exit_with_stdin = true,
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    Args {
        listen: listen.unwrap_or_else(|| usage("--listen is required")),
        namespace,
        exit_with_stdin,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    if args.exit_with_stdin {
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            std::process::exit(0);
        });
    }
    let config = BusConfig {
        namespace: args.namespace,
        listen: vec![args.listen],
        ..BusConfig::default()
    };
    let bus = match Bus::open(&config).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("clea-test-skill-server: cannot open the bus: {e}");
            std::process::exit(1);
        }
    };
    let mut server = match SkillServer::declare(&bus, t::ROBOT, &t::SKILLS).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clea-test-skill-server: cannot declare the skill server: {e}");
            std::process::exit(1);
        }
    };
    say(t::READY_LINE);
    while let Some(goal) = server.next_goal().await {
        tokio::spawn(async move {
            if let Err(e) = serve(goal).await {
                eprintln!("clea-test-skill-server: goal failed on the bus: {e}");
            }
        });
    }
}

async fn serve(goal: IncomingGoal) -> Result<(), BusError> {
    let behaviour = t::behaviour(&goal.goal.call).unwrap_or("").to_string();
    say(&format!("GOAL {} {behaviour}", goal.goal.goal_id));
    let active = match behaviour.as_str() {
        t::REJECT_ME => return goal.reject(t::REJECT_REASON).await,
        t::FAST | t::SLOW | t::DIE | t::FAIL => goal.accept().await?,
        other => {
            return goal
                .reject(format!("unknown test behaviour {other:?}"))
                .await
        }
    };
    let outcome = match behaviour.as_str() {
        t::FAST => {
            active.feedback(0.5, "halfway").await?;
            active.feedback(1.0, "arrived").await?;
            SkillOutcome::Succeeded
        }
        t::FAIL => {
            active.feedback(0.2, "moving").await?;
            SkillOutcome::Failed {
                reason: t::FAIL_REASON.to_string(),
            }
        }
        t::DIE => {
            active.feedback(0.1, "about to die").await?;
            // Let the feedback leave the process, then die with the goal still active.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            say(t::DYING_LINE);
            std::process::exit(t::DIE_EXIT_CODE);
        }
        _ => return slow(active).await,
    };
    finish(active, outcome).await
}

async fn slow(mut active: ActiveGoal) -> Result<(), BusError> {
    let steps = (t::SLOW_DURATION.as_millis() / t::SLOW_FEEDBACK_PERIOD.as_millis()) as u32;
    for i in 0..steps {
        active
            .feedback(i as f32 / steps as f32, format!("step {i}/{steps}"))
            .await?;
        tokio::select! {
            _ = tokio::time::sleep(t::SLOW_FEEDBACK_PERIOD) => {}
            _ = active.cancel_requested() => return finish(active, SkillOutcome::Canceled).await,
        }
    }
    finish(active, SkillOutcome::Succeeded).await
}

async fn finish(active: ActiveGoal, outcome: SkillOutcome) -> Result<(), BusError> {
    let line = t::finished_line(&active.goal_id.0, &outcome);
    active.finish(outcome).await?;
    say(&line);
    Ok(())
}
