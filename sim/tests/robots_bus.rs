//! The simulated robots on an in-process bus: goals, rejections, observations, determinism.

use clea_bus::action::{ActionError, GoalOptions, SkillClient};
use clea_bus::msg::{EpisodeEnd, EpisodeEvent, RobotObservation, SkillOutcome};
use clea_bus::{episode, Bus, BusConfig};
use clea_sim::scenario::load;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn kitchen(name: &str) -> clea_sim::scenario::Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/clea-kitchen")
        .join(name);
    load(&p).unwrap()
}

async fn bus(ns: &str) -> Bus {
    let cfg = BusConfig {
        namespace: ns.into(),
        ..Default::default()
    };
    Bus::open(&cfg).await.unwrap()
}

async fn run_reference(ns: &str, file: &str, seed: u64) -> Vec<EpisodeEvent> {
    let s = kitchen(file);
    let bus = bus(ns).await;
    let sim = clea_sim::robots::serve(&bus, &s, None).await.unwrap();
    let client = SkillClient::new(&bus);
    let start = tokio::time::timeout(T, episode::start(&bus, Some(seed), T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(start.task.scenario, s.name);
    assert_eq!(start.observations.len(), 2);
    for a in s.reference_plan.as_ref().unwrap() {
        let h = client
            .send_goal(&a.to_call(), GoalOptions::default())
            .await
            .unwrap();
        tokio::time::timeout(T, h.result(|_| {})).await.unwrap();
    }
    let score = episode::end(
        &bus,
        &EpisodeEnd {
            declared_done: true,
            ..Default::default()
        },
        T,
    )
    .await
    .unwrap();
    assert_eq!(
        score.steps as usize,
        s.reference_plan.as_ref().unwrap().len()
    );
    sim.events().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_scenario_and_seed_give_the_same_event_sequence() {
    let file = "task-07-p1-bottle-slips.yaml";
    let a = run_reference("det-a", file, 3).await;
    let b = run_reference("det-b", file, 3).await;
    assert!(a.len() > 5);
    assert!(a
        .iter()
        .any(|e| matches!(e, EpisodeEvent::Perturbation { .. })));
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_goals_are_rejected_and_counted_observations_follow_skills() {
    let s = kitchen("task-08-find-roast-apple.yaml");
    let bus = bus("rej").await;
    let sim = clea_sim::robots::serve(&bus, &s, None).await.unwrap();
    let obs = bus
        .subscribe::<RobotObservation>(&bus.keys.any_robot_observation())
        .await
        .unwrap();
    let client = SkillClient::new(&bus);
    episode::start(&bus, None, T).await.unwrap();
    while obs.try_recv().is_some() {}
    let call = |text: &str| clea_skills::parse_call(text).unwrap();
    // Unknown object: rejected by validation, never executed.
    let err = client
        .send_goal(
            &call("pick_from(robot_1, banana, table)"),
            GoalOptions::default(),
        )
        .await;
    match err {
        Err(ActionError::Rejected(r)) => assert!(r.contains("not a known object"), "{r}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted an unknown object"),
    }
    // Fixed robot asked to move: capability error.
    let err = client
        .send_goal(
            &call("go_to(robot_2, in_front_of_oven)"),
            GoalOptions::default(),
        )
        .await;
    assert!(matches!(err, Err(ActionError::Rejected(ref r)) if r.contains("lacks a mobile base")));
    // A valid goal that fails in the world gives Failed with the reason and observations.
    let h = client
        .send_goal(
            &call("pick_from(robot_1, apple, table)"),
            GoalOptions::default(),
        )
        .await
        .unwrap();
    let mut feedback = 0;
    let out = tokio::time::timeout(T, h.result(|_| feedback += 1))
        .await
        .unwrap();
    assert_eq!(
        out,
        SkillOutcome::Failed {
            reason: "apple is not in table".into()
        }
    );
    assert!(feedback >= 1);
    let mut robots = Vec::new();
    while let Some((_, o)) = obs.try_recv() {
        assert_eq!(o.step, 1);
        robots.push(o.robot);
    }
    assert_eq!(robots, ["robot_1", "robot_2"]);
    let score = episode::end(&bus, &EpisodeEnd::default(), T).await.unwrap();
    assert_eq!(
        (score.steps, score.skill_failures, score.invalid_calls),
        (1, 1, 2)
    );
    drop(sim);
}
