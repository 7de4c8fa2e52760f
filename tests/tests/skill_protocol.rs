//! The skill action protocol between two processes over zenoh TCP on the loopback interface.
//!
//! Each test spawns `clea-test-skill-server` on its own free port and in its own namespace, opens
//! its own bus connecting to it, and drives goals with `SkillClient`. Every await is bounded by
//! `within`, so a protocol bug fails the test instead of hanging the suite; the server process is
//! killed when its guard drops.

use clea_bus::action::{ActionError, GoalOptions, SkillClient};
use clea_bus::msg::{SkillFeedback, SkillOutcome, SkillResult};
use clea_bus::{Bus, SkillPart};
use clea_tests::{self as t, within, ServerProcess};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const EXE: &str = env!("CARGO_BIN_EXE_clea-test-skill-server");

/// Bound for setup steps (process start, session open, discovery) on a loaded 2-core machine.
const SETUP: Duration = Duration::from_secs(30);
/// Bound for one protocol exchange that should take milliseconds.
const STEP: Duration = Duration::from_secs(10);

struct Rig {
    server: ServerProcess,
    bus: Bus,
    client: SkillClient,
}

/// Spawn the server in namespace `test`, connect a client bus and wait for the server of both
/// skills to be discovered.
async fn rig(test: &str) -> Rig {
    let ns = t::unique_namespace(test);
    let server = within("server READY", SETUP, ServerProcess::spawn(EXE, &ns)).await;
    let bus = within("client bus open", SETUP, Bus::open(&server.client_config()))
        .await
        .expect("client bus opens");
    let client = SkillClient::new(&bus);
    for skill in t::SKILLS {
        within(
            "wait_for_server",
            SETUP,
            client.wait_for_server(t::ROBOT, skill, SETUP),
        )
        .await
        .unwrap_or_else(|e| panic!("server of {skill} not discovered: {e}"));
    }
    Rig {
        server,
        bus,
        client,
    }
}

/// `(a)`: a goal succeeds, with feedback of that goal, on both skills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_succeeds_with_feedback() {
    let r = rig("succeed").await;
    for call in [
        t::go_to(t::ROBOT, t::FAST),
        t::pick_from(t::ROBOT, t::FAST, "table"),
    ] {
        let handle = within(
            "send_goal",
            STEP,
            r.client.send_goal(&call, GoalOptions::default()),
        )
        .await
        .unwrap_or_else(|e| panic!("{call} not accepted: {e}"));
        let goal_id = handle.goal_id.clone();
        let mut feedback: Vec<SkillFeedback> = Vec::new();
        let outcome = within("result", STEP, handle.result(|f| feedback.push(f))).await;
        assert_eq!(outcome, SkillOutcome::Succeeded, "{call}");
        assert!(!feedback.is_empty(), "{call}: no feedback received");
        for f in &feedback {
            assert_eq!(f.goal_id, goal_id, "feedback of another goal");
            assert!((0.0..=1.0).contains(&f.progress), "progress {}", f.progress);
        }
    }
}

/// `(b)`: a rejected goal is `ActionError::Rejected` with the server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_goal_carries_reason() {
    let r = rig("reject").await;
    let sent = within(
        "send_goal",
        STEP,
        r.client
            .send_goal(&t::go_to(t::ROBOT, t::REJECT_ME), GoalOptions::default()),
    )
    .await;
    match sent {
        Err(ActionError::Rejected(reason)) => assert_eq!(reason, t::REJECT_REASON),
        Err(e) => panic!("expected Rejected, got error {e:?}"),
        Ok(h) => panic!("expected Rejected, goal {} was accepted", h.goal_id),
    }
}

/// `(c)`: a failed goal ends as `Failed` with the server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_goal_carries_reason() {
    let r = rig("fail").await;
    let handle = within(
        "send_goal",
        STEP,
        r.client
            .send_goal(&t::go_to(t::ROBOT, t::FAIL), GoalOptions::default()),
    )
    .await
    .expect("fail goal is accepted");
    let outcome = within("result", STEP, handle.result(|_| {})).await;
    assert_eq!(
        outcome,
        SkillOutcome::Failed {
            reason: t::FAIL_REASON.to_string()
        }
    );
}

/// `(d)`: cancel through `GoalCanceler` after the first feedback ends the goal as `Canceled`,
/// long before the slow goal would have finished; a second cancel finds no active goal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_after_first_feedback() {
    let mut r = rig("cancel").await;
    let t0 = Instant::now();
    let handle = within(
        "send_goal",
        STEP,
        r.client
            .send_goal(&t::go_to(t::ROBOT, t::SLOW), GoalOptions::default()),
    )
    .await
    .expect("slow goal is accepted");
    let goal_id = handle.goal_id.clone();
    let canceler = handle.canceler();
    let (fb_tx, mut fb_rx) = mpsc::unbounded_channel();
    let result = tokio::spawn(handle.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    let first = within("first feedback", STEP, fb_rx.recv())
        .await
        .expect("a feedback arrives");
    assert_eq!(first.goal_id, goal_id);
    let accepted = within("cancel", STEP, canceler.cancel(STEP))
        .await
        .expect("the server answers the cancel");
    assert!(
        accepted,
        "the server did not accept the cancel of an active goal"
    );
    let outcome = within("result after cancel", STEP, result)
        .await
        .expect("result task");
    let elapsed = t0.elapsed();
    assert_eq!(outcome, SkillOutcome::Canceled);
    assert!(
        elapsed < t::SLOW_DURATION / 2,
        "cancel took effect only after {elapsed:?}"
    );
    let line = t::finished_line(&goal_id.0, &SkillOutcome::Canceled);
    assert!(
        r.server.wait_line(|l| l == line, STEP).await.is_some(),
        "server did not report {line:?}"
    );
    let again = within("second cancel", STEP, canceler.cancel(STEP))
        .await
        .expect("the server answers the second cancel");
    assert!(!again, "a finished goal was canceled again");
    eprintln!("cancel: goal sent -> Canceled in {elapsed:?}");
}

/// `(e)`: a client deadline ends the goal as `TimedOut`, and the server is told: it finishes the
/// goal as `Canceled` well before the slow goal's 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_deadline_times_out_and_cancels() {
    let mut r = rig("deadline").await;
    let results = within(
        "subscribe results",
        STEP,
        r.bus
            .subscribe::<SkillResult>(&r.bus.keys.skill(t::ROBOT, "go_to", SkillPart::Result)),
    )
    .await
    .expect("subscribe");
    let opts = GoalOptions {
        result_timeout: Some(Duration::from_millis(300)),
        ..GoalOptions::default()
    };
    let t0 = Instant::now();
    let handle = within(
        "send_goal",
        STEP,
        r.client.send_goal(&t::go_to(t::ROBOT, t::SLOW), opts),
    )
    .await
    .expect("slow goal is accepted");
    let goal_id = handle.goal_id.clone();
    let mut feedback = 0usize;
    let outcome = within("result", STEP, handle.result(|_| feedback += 1)).await;
    let timed_out_after = t0.elapsed();
    assert_eq!(outcome, SkillOutcome::TimedOut);
    assert!(
        timed_out_after >= Duration::from_millis(300),
        "TimedOut before the deadline ({timed_out_after:?})"
    );
    assert!(
        timed_out_after < Duration::from_secs(3),
        "TimedOut only after {timed_out_after:?}"
    );
    // The server's own result for the goal: it got the cancel and stopped early.
    let server_result = within("server's result", STEP, async {
        loop {
            let (_, res) = results.recv().await.expect("subscription open");
            if res.goal_id == goal_id {
                return res;
            }
        }
    })
    .await;
    let server_done_after = t0.elapsed();
    assert_eq!(server_result.outcome, SkillOutcome::Canceled);
    assert!(
        server_done_after < Duration::from_secs(3),
        "server ended the goal only after {server_done_after:?}"
    );
    let line = t::finished_line(&goal_id.0, &SkillOutcome::Canceled);
    assert!(
        r.server.wait_line(|l| l == line, STEP).await.is_some(),
        "server did not report {line:?}"
    );
    eprintln!(
        "deadline: TimedOut after {timed_out_after:?} ({feedback} feedback), \
         server Canceled after {server_done_after:?}"
    );
}

/// `(f)`: the server process dies mid-goal: the goal fails, saying the server disappeared, within
/// a bound instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_death_mid_goal_fails_the_goal() {
    let mut r = rig("die").await;
    let t0 = Instant::now();
    let handle = within(
        "send_goal",
        STEP,
        r.client
            .send_goal(&t::go_to(t::ROBOT, t::DIE), GoalOptions::default()),
    )
    .await
    .expect("die goal is accepted");
    let (fb_tx, mut fb_rx) = mpsc::unbounded_channel();
    let result = tokio::spawn(handle.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    assert!(
        r.server
            .wait_line(|l| l == t::DYING_LINE, STEP)
            .await
            .is_some(),
        "server did not announce its death"
    );
    let dying_at = Instant::now();
    let outcome = within(
        "result after the server died",
        Duration::from_secs(10),
        result,
    )
    .await
    .expect("result task");
    let detected_after = dying_at.elapsed();
    match &outcome {
        SkillOutcome::Unreachable { reason } => assert!(
            reason.contains("disappeared"),
            "reason does not say the server disappeared: {reason:?}"
        ),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    let status = r
        .server
        .wait_exit(STEP)
        .await
        .expect("server process exited");
    assert_eq!(status.code(), Some(t::DIE_EXIT_CODE));
    let mut feedback = 0usize;
    while fb_rx.try_recv().is_ok() {
        feedback += 1;
    }
    eprintln!(
        "die: server death detected {detected_after:?} after DYING \
         ({:?} after the goal was sent; {feedback} feedback before): {outcome}",
        t0.elapsed()
    );
}

/// Like `(f)`, but the server is killed from outside (SIGKILL) during a slow goal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_goal_fails_the_goal() {
    let mut r = rig("kill").await;
    let handle = within(
        "send_goal",
        STEP,
        r.client
            .send_goal(&t::go_to(t::ROBOT, t::SLOW), GoalOptions::default()),
    )
    .await
    .expect("slow goal is accepted");
    let (fb_tx, mut fb_rx) = mpsc::unbounded_channel();
    let result = tokio::spawn(handle.result(move |f| {
        let _ = fb_tx.send(f);
    }));
    within("first feedback", STEP, fb_rx.recv())
        .await
        .expect("a feedback arrives");
    r.server.kill();
    let killed_at = Instant::now();
    let outcome = within(
        "result after the server was killed",
        Duration::from_secs(10),
        result,
    )
    .await
    .expect("result task");
    let detected_after = killed_at.elapsed();
    match &outcome {
        SkillOutcome::Unreachable { reason } => assert!(
            reason.contains("disappeared"),
            "reason does not say the server disappeared: {reason:?}"
        ),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    eprintln!("kill: server death detected {detected_after:?} after SIGKILL: {outcome}");
}

/// `(g)`: a goal to a robot nobody serves is `NoServer`, quickly, while the other robot's server
/// is up on the same bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_to_unserved_robot_is_no_server() {
    let r = rig("noserver").await;
    let t0 = Instant::now();
    let sent = within(
        "send_goal to robot_9",
        STEP,
        r.client
            .send_goal(&t::go_to("robot_9", t::FAST), GoalOptions::default()),
    )
    .await;
    let elapsed = t0.elapsed();
    match sent {
        Err(ActionError::NoServer { robot, skill }) => {
            assert_eq!((robot.as_str(), skill.as_str()), ("robot_9", "go_to"));
        }
        Err(e) => panic!("expected NoServer, got error {e:?}"),
        Ok(h) => panic!("expected NoServer, goal {} was accepted", h.goal_id),
    }
    assert!(
        elapsed < Duration::from_secs(2),
        "NoServer took {elapsed:?} (accept timeout is 5 s)"
    );
    let waited = within(
        "wait_for_server robot_9",
        STEP,
        r.client
            .wait_for_server("robot_9", "go_to", Duration::from_millis(300)),
    )
    .await;
    assert!(
        matches!(waited, Err(ActionError::NoServer { .. })),
        "wait_for_server found a robot_9 server: {waited:?}"
    );
    eprintln!("no server: NoServer after {elapsed:?}");
}

/// The client closes its own session mid-goal: `result()` must end (as `Failed`, "session
/// closed") instead of hanging.
///
/// Runs on its own runtime, shut down in the background at the end: a `result()` future that
/// spins without yielding would otherwise keep a worker thread busy forever and hang the runtime's
/// shutdown, and with it the whole test binary.
///
/// Regression: `GoalHandle::result`'s `biased` select once ignored the closed feedback channel's
/// `Err` and spun forever.
#[test]
fn client_session_closed_mid_goal_ends_the_goal() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = rt.block_on(async {
        let r = rig("close").await;
        let handle = within(
            "send_goal",
            STEP,
            r.client
                .send_goal(&t::go_to(t::ROBOT, t::SLOW), GoalOptions::default()),
        )
        .await
        .expect("slow goal is accepted");
        let (fb_tx, mut fb_rx) = mpsc::unbounded_channel();
        let result = tokio::spawn(handle.result(move |f| {
            let _ = fb_tx.send(f);
        }));
        within("first feedback", STEP, fb_rx.recv())
            .await
            .expect("a feedback arrives");
        within("close", STEP, r.bus.session.close())
            .await
            .expect("session closes");
        let closed_at = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(5), result).await;
        eprintln!(
            "close: result() after the client session closed: {outcome:?} after {:?}",
            closed_at.elapsed()
        );
        drop(r);
        outcome
    });
    rt.shutdown_background();
    match outcome {
        Ok(Ok(SkillOutcome::Unreachable { reason })) => assert!(
            reason.contains("session closed"),
            "reason does not say the session closed: {reason:?}"
        ),
        Ok(Ok(other)) => panic!("expected Unreachable, got {other:?}"),
        Ok(Err(e)) => panic!("result task: {e}"),
        Err(_) => panic!("result() did not end within 5 s of the client session closing"),
    }
}
