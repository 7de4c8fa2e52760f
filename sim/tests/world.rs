//! The world model: partial observation, perturbation timing, noise and determinism.

use clea_bus::msg::{EpisodeEnd, EpisodeEvent, SkillOutcome};
use clea_sim::scenario::parse;
use clea_sim::world::SimWorld;
use clea_skills::{parse_call, validate, Action, Location};
use std::path::Path;

const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/worlds/clea-kitchen.yaml");

fn scenario(extra: &str) -> clea_sim::scenario::Scenario {
    let text = format!(
        r#"name: w
world_file: {WORLD}
initial:
  robots: {{ robot_1: in_front_of_table }}
  objects:
    apple: refrigerator
    hamburger: table
    bottle_of_tea: sink
    orange: table
    vitamin_pills: drawer_top
    green_medication: drawer_middle
task:
  instruction: roast the apple
  goal:
    - roasted(apple)
    - on(apple, table)
{extra}"#
    );
    parse(&text, Path::new("inline.yaml")).unwrap()
}

fn act(w: &SimWorld, text: &str) -> Action {
    validate(&parse_call(text).unwrap(), w.vocabulary()).unwrap()
}

fn run(w: &mut SimWorld, text: &str) -> SkillOutcome {
    let a = act(w, text);
    w.execute(&a)
}

#[test]
fn partial_observability() {
    let mut w = SimWorld::new(&scenario(""), 0);
    let o1 = w.observe("robot_1");
    assert_eq!(o1.place.as_deref(), Some("in_front_of_table"));
    let names: Vec<_> = o1.in_view.iter().map(|v| v.receptacle.as_str()).collect();
    assert_eq!(
        names,
        ["table"],
        "robot_1 sees only what is at its navigation point"
    );
    let o2 = w.observe("robot_2");
    let drawer = o2
        .in_view
        .iter()
        .find(|v| v.receptacle == "drawer_top")
        .unwrap();
    assert_eq!(drawer.open, Some(false));
    assert!(
        !drawer.contents_visible && drawer.objects.is_empty(),
        "closed drawer hides pills"
    );
    assert_eq!(
        run(&mut w, "open(robot_2, drawer_top)"),
        SkillOutcome::Succeeded
    );
    let drawer = w
        .observe("robot_2")
        .in_view
        .into_iter()
        .find(|v| v.receptacle == "drawer_top")
        .unwrap();
    assert_eq!(drawer.objects[0].object, "vitamin_pills");
    assert_eq!(
        run(&mut w, "go_to(robot_1, in_front_of_refrigerator)"),
        SkillOutcome::Succeeded
    );
    let fridge = &w.observe("robot_1").in_view[0];
    assert_eq!(
        (fridge.receptacle.as_str(), fridge.contents_visible),
        ("refrigerator", false)
    );
}

#[test]
fn failed_skill_changes_nothing_but_the_step() {
    let mut w = SimWorld::new(&scenario(""), 0);
    let before = w.state().clone();
    let out = run(&mut w, "pick_from(robot_1, apple, table)");
    assert_eq!(
        out,
        SkillOutcome::Failed {
            reason: "apple is not in table".into()
        }
    );
    assert_eq!(w.state(), &before);
    assert_eq!(w.step(), 1);
}

#[test]
fn perturbations_fire_at_the_right_step() {
    let s = scenario(
        "perturbations:\n  - at_step: 2\n    do: { move_object: { object: apple, to: sink } }\n  - when: open(refrigerator)\n    do: { fail_next_skill: { robot: robot_1, reason: slipped } }\n  - at_step: 0\n    do: { set_open: { receptacle: oven, open: true } }\n",
    );
    let mut w = SimWorld::new(&s, 0);
    assert!(w.state().open["oven"], "step-0 perturbation fires at reset");
    run(&mut w, "go_to(robot_1, in_front_of_refrigerator)");
    assert_eq!(
        w.state().location["apple"],
        Location::In("refrigerator".into()),
        "not yet after step 1"
    );
    run(&mut w, "open(robot_1, refrigerator)");
    assert_eq!(
        w.state().location["apple"],
        Location::In("sink".into()),
        "moved after step 2"
    );
    // The `when` perturbation fired after step 2 too: robot_1's next skill fails.
    assert_eq!(
        run(&mut w, "close(robot_1, refrigerator)"),
        SkillOutcome::Failed {
            reason: "slipped".into()
        }
    );
    assert_eq!(
        run(&mut w, "close(robot_1, refrigerator)"),
        SkillOutcome::Succeeded,
        "fires once"
    );
    let fired: Vec<u32> = w
        .events()
        .iter()
        .filter_map(|e| match e {
            EpisodeEvent::Perturbation { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(fired, [0, 2, 2]);
}

#[test]
fn scoring_counts_goal_share() {
    let mut w = SimWorld::new(&scenario(""), 0);
    for c in [
        "go_to(robot_1, in_front_of_refrigerator)",
        "open(robot_1, refrigerator)",
        "pick_from(robot_1, apple, refrigerator)",
        "go_to(robot_1, in_front_of_table)",
        "release_to(robot_1, apple, table)",
    ] {
        assert_eq!(run(&mut w, c), SkillOutcome::Succeeded, "{c}");
    }
    let score = w.finish(&EpisodeEnd::default());
    assert!(!score.success);
    assert_eq!(score.score, 0.5);
    assert_eq!(score.goals_unmet, ["roasted(apple)"]);
    assert_eq!(score.steps, 5);
}

fn noisy_episode(seed: u64) -> Vec<EpisodeEvent> {
    let s = scenario("noise: { grasp_failure_rate: 0.5 }\n");
    let mut w = SimWorld::new(&s, seed);
    for _ in 0..10 {
        run(&mut w, "pick_from(robot_1, hamburger, table)");
        run(&mut w, "release_to(robot_1, hamburger, table)");
    }
    w.finish(&EpisodeEnd::default());
    w.events().to_vec()
}

#[test]
fn same_seed_same_events() {
    let a = noisy_episode(7);
    assert_eq!(a, noisy_episode(7));
    let failures = |ev: &[EpisodeEvent]| {
        ev.iter()
            .filter(|e| matches!(e, EpisodeEvent::Skill { outcome: SkillOutcome::Failed { .. }, action, .. } if action.starts_with("pick")))
            .count()
    };
    assert!(failures(&a) > 0, "noise 0.5 must fail some grasps");
    let differs = (0..5).any(|s| noisy_episode(100 + s) != a);
    assert!(differs, "other seeds give other sequences");
}
