//! Bad scenario and plan files: each gets one error naming the file, the line or field, and why.

use clea_sim::scenario::{load, load_path, load_plan};
use std::path::Path;

const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/worlds/clea-kitchen.yaml");

/// A valid scenario; each bad case replaces one piece of it.
fn good() -> String {
    format!(
        r#"name: ok
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
  open: [oven]
task:
  instruction: roast the apple
  goal:
    - roasted(apple)
perturbations:
  - at_step: 2
    do: {{ move_object: {{ object: apple, to: sink }} }}
reference_plan:
  - go_to(robot_1, in_front_of_refrigerator)
"#
    )
}

fn check(name: &str, text: &str, location: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.yaml"));
    std::fs::write(&file, text).unwrap();
    let err = load(&file).expect_err(name);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&file.display().to_string()),
        "{name}: no file in {msg}"
    );
    assert!(
        err.location.contains(location),
        "{name}: location {:?} lacks {location:?} ({msg})",
        err.location
    );
    assert!(
        err.reason.contains(reason),
        "{name}: reason {:?} lacks {reason:?}",
        err.reason
    );
    assert_eq!(msg.lines().count(), 1, "{name}: one line: {msg}");
}

#[test]
fn the_good_scenario_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.yaml");
    std::fs::write(&file, good()).unwrap();
    let s = load(&file).unwrap();
    assert_eq!(s.goals.len(), 1);
    assert_eq!(s.reference_plan.unwrap().len(), 1);
}

#[test]
fn bad_scenarios_table() {
    let g = good();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "syntax",
            "name: ok\ntask: {\n".into(),
            "line",
            "did not find expected",
        ),
        (
            "unknown-field",
            g.replace("name: ok", "name: ok\ncolour: red"),
            "line 2",
            "unknown field `colour`",
        ),
        (
            "missing-task",
            g.replace(
                "task:\n  instruction: roast the apple\n  goal:\n    - roasted(apple)\n",
                "",
            ),
            "line",
            "missing field `task`",
        ),
        (
            "unknown-object-initial",
            g.replace("hamburger: table", "hamburger: table\n    banana: table"),
            "initial.objects.banana",
            "unknown object",
        ),
        (
            "object-without-place",
            g.replace("    hamburger: table\n", ""),
            "initial.objects",
            "hamburger has no place",
        ),
        (
            "unknown-receptacle",
            g.replace("orange: table", "orange: cupboard"),
            "initial.objects.orange",
            "\"cupboard\" is not a receptacle",
        ),
        (
            "not-openable",
            g.replace("open: [oven]", "open: [table]"),
            "initial.open[0]",
            "table is not openable",
        ),
        (
            "goal-unknown-object",
            g.replace("- roasted(apple)", "- roasted(banana)"),
            "task.goal[0]",
            "unknown object \"banana\"",
        ),
        (
            "goal-unknown-predicate",
            g.replace("- roasted(apple)", "- cooked(apple)"),
            "task.goal[0]",
            "unknown goal predicate",
        ),
        (
            "goal-malformed",
            g.replace("- roasted(apple)", "- roasted(apple"),
            "task.goal[0]",
            "malformed term",
        ),
        (
            "duplicate-goal",
            g.replace("- roasted(apple)", "- roasted(apple)\n    - roasted(apple)"),
            "task.goal[1]",
            "duplicate goal",
        ),
        (
            "negative-step",
            g.replace("at_step: 2", "at_step: -1"),
            "perturbations[0].at_step",
            "negative",
        ),
        (
            "perturb-unknown-object",
            g.replace("object: apple, to: sink", "object: pear, to: sink"),
            "perturbations[0].do.move_object.object",
            "unknown object",
        ),
        (
            "perturb-not-openable",
            g.replace(
                "move_object: { object: apple, to: sink }",
                "set_open: { receptacle: sink, open: true }",
            ),
            "perturbations[0].do.set_open.receptacle",
            "sink is not openable",
        ),
        (
            "perturb-unknown-effect",
            g.replace("move_object:", "teleport:"),
            "line",
            "unknown variant `teleport`",
        ),
        (
            "perturb-both-triggers",
            g.replace(
                "at_step: 2",
                "at_step: 2\n    when: holding(robot_1, apple)",
            ),
            "perturbations[0]",
            "not both",
        ),
        (
            "perturb-bad-condition",
            g.replace("at_step: 2", "when: flying(robot_1)"),
            "perturbations[0].when",
            "unknown condition",
        ),
        (
            "plan-unknown-skill",
            g.replace(
                "go_to(robot_1, in_front_of_refrigerator)",
                "teleport(robot_1, oven)",
            ),
            "reference_plan[0]",
            "unknown skill",
        ),
        (
            "plan-fixed-robot-moves",
            g.replace(
                "go_to(robot_1, in_front_of_refrigerator)",
                "go_to(robot_2, in_front_of_oven)",
            ),
            "reference_plan[0]",
            "robot_2 lacks a mobile base",
        ),
        (
            "plan-wrong-arity",
            g.replace("go_to(robot_1, in_front_of_refrigerator)", "go_to(robot_1)"),
            "reference_plan[0]",
            "takes 2 arguments",
        ),
        (
            "fixed-robot-placed",
            g.replace(
                "robot_1: in_front_of_table",
                "robot_1: in_front_of_table, robot_2: in_front_of_sink",
            ),
            "initial.robots.robot_2",
            "fixed",
        ),
        (
            "mobile-robot-unplaced",
            g.replace("robots: { robot_1: in_front_of_table }", "robots: {}"),
            "initial.robots",
            "robot_1 has no starting",
        ),
        (
            "no-world",
            g.replace(&format!("world_file: {WORLD}\n"), ""),
            "world",
            "missing world",
        ),
        (
            "missing-world-file",
            g.replace(WORLD, "/nonexistent/world.yaml"),
            "world_file",
            "No such file",
        ),
        (
            "zero-steps",
            g.replace(
                "perturbations:",
                "budgets: { max_steps: 0 }\nperturbations:",
            ),
            "budgets.max_steps",
            "at least 1",
        ),
        (
            "bad-noise",
            g.replace(
                "perturbations:",
                "noise: { grasp_failure_rate: 1.5 }\nperturbations:",
            ),
            "noise.grasp_failure_rate",
            "not a probability",
        ),
        (
            "wrong-type",
            g.replace("at_step: 2", "at_step: soon"),
            "line",
            "invalid type",
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, text, location, reason) in &cases {
        check(name, text, location, reason);
    }
}

#[test]
fn bad_inline_worlds() {
    let g = good();
    let inline =
        |world: &str| g.replace(&format!("world_file: {WORLD}"), &format!("world:\n{world}"));
    let base = "  navigation_points: [a, b]\n  receptacles:\n    - { name: table, kind: surface, near: a }\n  objects: [apple]\n  robots:\n    - { name: robot_1, mobile: true }\n";
    check(
        "dup-name",
        &inline(&base.replace("[a, b]", "[a, a]")),
        "world.navigation_points[1]",
        "duplicate name \"a\"",
    );
    check(
        "near-unknown",
        &inline(&base.replace("near: a", "near: z")),
        "world.receptacles[0].near",
        "not a navigation point",
    );
    check(
        "bad-name",
        &inline(&base.replace("[apple]", "[\"ap ple\"]")),
        "world.objects[0]",
        "is not a name",
    );
}

#[test]
fn duplicate_names_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), good()).unwrap();
    std::fs::write(dir.path().join("b.yaml"), good()).unwrap();
    let err = load_path(dir.path()).unwrap_err();
    assert_eq!(err.location, "name");
    assert!(err.reason.contains("duplicate scenario name"), "{err}");
}

#[test]
fn bad_plan_files() {
    let world = clea_sim::scenario::load_world(Path::new(WORLD)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "- go_to(robot_1, in_front_of_oven)\n- open(robot_1, table)\n",
            "[1]",
            "not a known openable receptacle",
        ),
        (
            "- pick_from(robot_1, banana, table)\n",
            "[0]",
            "not a known object",
        ),
        ("[]\n", "document", "no actions"),
        ("go_to: x\n", "line 1", "invalid type"),
    ];
    for (text, location, reason) in cases {
        let file = dir.path().join("plan.yaml");
        std::fs::write(&file, text).unwrap();
        let err = load_plan(&file, &world).unwrap_err();
        assert!(err.location.starts_with(location), "{err}");
        assert!(err.reason.contains(reason), "{err}");
    }
}
