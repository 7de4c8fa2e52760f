//! The bus in one process: the default configuration (in-process peer, no network), typed
//! publish/subscribe, and key-expression name checks.

use clea_bus::action::{ActionError, GoalOptions, SkillClient, SkillServer};
use clea_bus::msg::{EStop, Plan, SkillCall};
use clea_bus::{Bus, BusConfig, BusError, Keys};
use clea_tests::within;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

async fn open_default() -> Bus {
    let config = BusConfig::default();
    assert!(config.listen.is_empty() && config.connect.is_empty());
    assert!(!config.multicast_scouting);
    within("open default bus", STEP, Bus::open(&config))
        .await
        .expect("default bus opens")
}

fn plan(step: u32) -> Plan {
    Plan {
        step,
        subgoal: "bring apple to oven".into(),
        actions: vec![clea_tests::go_to("robot_1", "in_front_of_oven")],
        done: false,
        reasoning: "the apple is on the table".into(),
        usage: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_publish_subscribe_round_trip() {
    let bus = open_default().await;
    assert_eq!(bus.keys.namespace(), clea_bus::session::DEFAULT_NAMESPACE);
    let key = bus.keys.plan();
    let sub = within("subscribe", STEP, bus.subscribe::<Plan>(&key))
        .await
        .expect("subscribe");
    assert!(sub.try_recv().is_none(), "a message before any publish");
    for step in 0..3 {
        within("publish", STEP, bus.publish(&key, &plan(step)))
            .await
            .expect("publish");
    }
    for step in 0..3 {
        let (k, got) = within("recv", STEP, sub.recv())
            .await
            .expect("session open");
        assert_eq!(k, key);
        assert_eq!(got, plan(step), "messages arrive in order, unchanged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_samples_are_skipped() {
    let bus = open_default().await;
    let key = bus.keys.estop();
    let sub = within("subscribe", STEP, bus.subscribe::<EStop>(&key))
        .await
        .expect("subscribe");
    within("raw put", STEP, bus.session.put(key.clone(), "not json"))
        .await
        .expect("raw put");
    within("wrong type", STEP, bus.publish(&key, &plan(1)))
        .await
        .expect("publish wrong type");
    let stop = EStop {
        engaged: true,
        reason: "test".into(),
    };
    within("publish", STEP, bus.publish(&key, &stop))
        .await
        .expect("publish");
    let (_, got) = within("recv", STEP, sub.recv())
        .await
        .expect("session open");
    assert_eq!(got, stop);
    assert!(sub.try_recv().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_isolated_within_a_session() {
    let bus = open_default().await;
    let other = Keys::new("other_ns").expect("valid namespace");
    let sub = within("subscribe", STEP, bus.subscribe::<Plan>(&bus.keys.all()))
        .await
        .expect("subscribe");
    within(
        "publish other ns",
        STEP,
        bus.publish(&other.plan(), &plan(7)),
    )
    .await
    .expect("publish");
    within(
        "publish own ns",
        STEP,
        bus.publish(&bus.keys.plan(), &plan(8)),
    )
    .await
    .expect("publish");
    let (k, got) = within("recv", STEP, sub.recv())
        .await
        .expect("session open");
    assert_eq!((k.as_str(), got.step), (bus.keys.plan().as_str(), 8));
    assert!(sub.try_recv().is_none());
}

#[test]
fn keys_reject_wildcards_and_separators() {
    for bad in ["", "*", "**", "a*", "robot/1", "a b", "$*", "x?", "a#b"] {
        match Keys::new(bad) {
            Err(BusError::InvalidName(n)) => assert_eq!(n, bad),
            other => panic!("namespace {bad:?}: expected InvalidName, got {other:?}"),
        }
    }
    for good in ["clea", "kitchen_2", "fleet-a", "A9"] {
        assert!(Keys::new(good).is_ok(), "{good:?} rejected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_names_are_rejected_by_bus_server_and_client() {
    let config = BusConfig {
        namespace: "**".into(),
        ..BusConfig::default()
    };
    assert!(matches!(
        within("open", STEP, Bus::open(&config)).await,
        Err(BusError::InvalidName(_))
    ));

    let bus = open_default().await;
    for (robot, skills) in [("robot_*", ["go_to"]), ("robot_1", ["**"])] {
        let declared = within("declare", STEP, SkillServer::declare(&bus, robot, &skills)).await;
        assert!(
            matches!(declared, Err(BusError::InvalidName(_))),
            "server {robot}/{skills:?} was declared"
        );
    }

    let client = SkillClient::new(&bus);
    let opts = GoalOptions {
        accept_timeout: Duration::from_millis(500),
        ..GoalOptions::default()
    };
    let mut bad_skill = clea_tests::go_to("robot_1", "x");
    bad_skill.skill = "go_*".into();
    for call in [clea_tests::go_to("*", "x"), bad_skill] {
        let sent = within("send_goal", STEP, client.send_goal(&call, opts)).await;
        assert!(
            matches!(sent, Err(ActionError::Bus(BusError::InvalidName(_)))),
            "{call}: {:?}",
            sent.map(|h| h.goal_id.clone())
        );
    }
    let no_robot = SkillCall {
        skill: "go_to".into(),
        args: Default::default(),
    };
    assert!(matches!(
        within("send_goal", STEP, client.send_goal(&no_robot, opts)).await,
        Err(ActionError::NoRobot(_))
    ));
}

/// The skill protocol in one process: the default bus carries a goal from client to server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skill_goal_round_trip_in_process() {
    let bus = open_default().await;
    let mut server = within(
        "declare",
        STEP,
        SkillServer::declare(&bus, "robot_1", &["go_to"]),
    )
    .await
    .expect("declare");
    let serve = tokio::spawn(async move {
        let goal = server.next_goal().await.expect("a goal");
        assert_eq!(goal.skill, "go_to");
        let active = goal.accept().await.expect("accept");
        active.feedback(1.0, "there").await.expect("feedback");
        active
            .finish(clea_bus::msg::SkillOutcome::Succeeded)
            .await
            .expect("finish");
        server
    });
    let client = SkillClient::new(&bus);
    within(
        "wait_for_server",
        STEP,
        client.wait_for_server("robot_1", "go_to", STEP),
    )
    .await
    .expect("server discovered");
    let handle = within(
        "send_goal",
        STEP,
        client.send_goal(
            &clea_tests::go_to("robot_1", "in_front_of_oven"),
            GoalOptions::default(),
        ),
    )
    .await
    .expect("accepted");
    let goal_id = handle.goal_id.clone();
    let mut feedback = Vec::new();
    let outcome = within("result", STEP, handle.result(|f| feedback.push(f))).await;
    assert!(outcome.is_success(), "{outcome}");
    assert_eq!(feedback.len(), 1, "the one feedback sent before the result");
    assert_eq!(feedback[0].goal_id, goal_id);
    let _server = within("server task", STEP, serve)
        .await
        .expect("server task");
}

/// Feedback the server published before the result must reach `on_feedback`.
///
/// Regression test: with an unbiased `tokio::select!` in `GoalHandle::result`, when the feedback
/// and the result samples were both queued (the usual case: the server sends them back to back),
/// the select took the result branch about half of the time and returned without delivering the
/// queued feedback (13 of 20 goals lost it). Each goal here has exactly one feedback, published
/// before the result; the client only starts `result()` once the server has finished, so both
/// are queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_queued_with_the_result_is_delivered() {
    const GOALS: usize = 20;
    let bus = open_default().await;
    let mut server = within(
        "declare",
        STEP,
        SkillServer::declare(&bus, "robot_1", &["go_to"]),
    )
    .await
    .expect("declare");
    let serve = tokio::spawn(async move {
        for _ in 0..GOALS {
            let goal = server.next_goal().await.expect("a goal");
            let active = goal.accept().await.expect("accept");
            active.feedback(1.0, "there").await.expect("feedback");
            active
                .finish(clea_bus::msg::SkillOutcome::Succeeded)
                .await
                .expect("finish");
        }
    });
    let client = SkillClient::new(&bus);
    let mut lost = 0;
    for _ in 0..GOALS {
        let handle = within(
            "send_goal",
            STEP,
            client.send_goal(&clea_tests::go_to("robot_1", "x"), GoalOptions::default()),
        )
        .await
        .expect("accepted");
        // Let the server publish feedback and result before the client looks at them.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut feedback = 0;
        let outcome = within("result", STEP, handle.result(|_| feedback += 1)).await;
        assert!(outcome.is_success(), "{outcome}");
        if feedback == 0 {
            lost += 1;
        }
    }
    within("server task", STEP, serve)
        .await
        .expect("server task");
    assert_eq!(lost, 0, "{lost} of {GOALS} goals lost their feedback");
}

/// A result the server published before it went away must win over the liveliness `Delete`.
///
/// Regression test, same cause as above, other branch: when the result sample and the `Delete`
/// of the server's liveliness token were both queued, an unbiased select in `GoalHandle::result`
/// could take the `Delete` and report `Unreachable { "... disappeared during the goal" }` for a goal
/// that succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_published_before_the_server_left_wins() {
    const GOALS: usize = 20;
    let bus = open_default().await;
    let client = SkillClient::new(&bus);
    let mut wrong = Vec::new();
    for i in 0..GOALS {
        let mut server = within(
            "declare",
            STEP,
            SkillServer::declare(&bus, "robot_1", &["go_to"]),
        )
        .await
        .expect("declare");
        within(
            "wait_for_server",
            STEP,
            client.wait_for_server("robot_1", "go_to", STEP),
        )
        .await
        .expect("server discovered");
        let serve = tokio::spawn(async move {
            let goal = server.next_goal().await.expect("a goal");
            let active = goal.accept().await.expect("accept");
            active
                .finish(clea_bus::msg::SkillOutcome::Succeeded)
                .await
                .expect("finish");
            drop(server); // withdraws the liveliness token right after the result
        });
        let handle = within(
            "send_goal",
            STEP,
            client.send_goal(&clea_tests::go_to("robot_1", "x"), GoalOptions::default()),
        )
        .await
        .expect("accepted");
        within("server task", STEP, serve)
            .await
            .expect("server task");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let outcome = within("result", STEP, handle.result(|_| {})).await;
        if !outcome.is_success() {
            wrong.push(format!("goal {i}: {outcome}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "succeeded goals reported otherwise: {wrong:?}"
    );
}

/// A simulator restarted between episodes is back a moment later: `episode::start` waits for
/// its service (by declaration, within the request's timeout) instead of failing at once; with
/// no simulator at all it fails when the timeout runs out, naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_episode_start_waits_for_a_simulator_that_comes_later() {
    let ns = clea_tests::unique_namespace("late_sim");
    let endpoint = format!("tcp/127.0.0.1:{}", clea_tests::free_port());
    let agent = within(
        "agent bus",
        STEP,
        Bus::open(&BusConfig {
            namespace: ns.clone(),
            listen: vec![endpoint.clone()],
            ..BusConfig::default()
        }),
    )
    .await
    .expect("agent bus");
    // No simulator: the request fails at its timeout, not before.
    let t0 = std::time::Instant::now();
    let err = within(
        "start without a simulator",
        STEP,
        clea_bus::episode::start(&agent, None, Duration::from_millis(800)),
    )
    .await
    .expect_err("nobody answers");
    assert!(
        t0.elapsed() >= Duration::from_millis(750),
        "{:?}",
        t0.elapsed()
    );
    assert!(matches!(err, BusError::NoReply(_)), "{err}");
    assert!(err.to_string().contains("sim/episode/start"), "{err}");
    // The request is made first; the simulator comes up while it waits.
    let request = tokio::spawn({
        let agent = agent.clone();
        async move { clea_bus::episode::start(&agent, Some(3), Duration::from_secs(10)).await }
    });
    let sim_bus = within(
        "simulator bus",
        STEP,
        Bus::open(&BusConfig {
            namespace: ns,
            connect: vec![endpoint],
            ..BusConfig::default()
        }),
    )
    .await
    .expect("simulator bus");
    let scenario = clea_sim::scenario::load(&clea_tests::e2e::kitchen("task-08-find-roast-apple"))
        .expect("scenario");
    let _sim = within(
        "serve",
        STEP,
        clea_sim::robots::serve(&sim_bus, &scenario, None),
    )
    .await
    .expect("simulated robots");
    let start = within("start", STEP, request)
        .await
        .expect("the request task")
        .expect("the late simulator answers");
    assert_eq!(start.task.seed, 3);
    assert_eq!(start.task.scenario, "task-08-find-roast-apple");
}
