//! `clea sim` on the second shipped domain (the home: three robots, hand-overs, appliances,
//! cleaning), loaded from its PDDL domain and skill binding; and its bad-input table.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn clea(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clea"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("clea runs")
}

fn episodes(args: &[&str]) -> Vec<Value> {
    let out = clea(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    v["episodes"].as_array().expect("episodes").clone()
}

fn perturbed(e: &Value) -> bool {
    e["scenario"].as_str().expect("name").contains("-p1-")
}

#[test]
fn the_closed_loop_solves_every_home_scenario_and_replans_after_each_perturbation() {
    let eps = episodes(&["sim", "sim/scenarios/home", "--json"]);
    assert_eq!(eps.len(), 10);
    assert_eq!(eps.iter().filter(|e| perturbed(e)).count(), 5);
    for e in &eps {
        assert_eq!(e["success"], true, "{e}");
        if perturbed(e) {
            assert_eq!(e["perturbations"], 1, "{e}");
            assert!(e["replans"].as_u64() >= Some(1), "{e}");
        } else {
            assert_eq!(e["replans"], 0, "{e}");
            assert_eq!(e["skill_failures"], 0, "{e}");
        }
    }
}

#[test]
fn perturbations_break_the_reference_plans_and_the_open_loop() {
    for mode in ["--reference-plan", "--open-loop"] {
        let eps = episodes(&["sim", "sim/scenarios/home", "--json", mode]);
        for e in &eps {
            assert_eq!(e["success"], !perturbed(e), "{mode}: {e}");
        }
    }
    let eps = episodes(&["sim", "sim/scenarios/home", "--json", "--reference-plan"]);
    let slips = eps
        .iter()
        .find(|e| e["scenario"] == "home-09-p1-book-slips")
        .expect("scenario");
    assert_eq!(
        slips["reason"],
        "hand_over(robot_a, robot_b, book, hallway) failed: (holding robot_a book)"
    );
}

#[test]
fn without_the_critic_failed_skills_replace_rejections() {
    let eps = episodes(&["sim", "sim/scenarios/home", "--json", "--critic", "off"]);
    assert!(eps
        .iter()
        .all(|e| e["success"] == true && e["critic_rejections"] == 0));
    assert!(eps
        .iter()
        .filter(|e| perturbed(e))
        .any(|e| e["skill_failures"].as_u64() >= Some(1)));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn bad_domain_scenarios_get_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = root().join("sim/domains/home");
    let problems = root().join("sim/scenarios/home/problems");
    let good = format!(
        "binding: {}\nproblem: {}\ninstruction: Switch on the lamp.\nreference_plan: [\"plug_in(robot_b, lamp, living_room)\"]\n",
        home.join("binding.yaml").display(),
        problems.join("lamp-on.pddl").display()
    );
    // A binding whose `switch_on` names a robot parameter the action lacks.
    std::fs::copy(home.join("domain.pddl"), dir.path().join("domain.pddl")).expect("copy");
    let binding = std::fs::read_to_string(home.join("binding.yaml"))
        .expect("read")
        .replace("switch_on: { robot: r,", "switch_on: { robot: robot,");
    let bad_binding = write(dir.path(), "binding.yaml", &binding);
    // A problem whose goal names an unknown predicate.
    let problem = std::fs::read_to_string(problems.join("lamp-on.pddl"))
        .expect("read")
        .replace("(:goal (switched_on lamp))", "(:goal (glowing lamp))");
    let bad_problem = write(dir.path(), "problem.pddl", &problem);
    let cases = [
        (
            good.clone() + "perturbations: [{ at_step: 1, set: [\"(unplugged lamp)\"] }]\n",
            "perturbations[0].set[0]: unknown predicate unplugged",
        ),
        (
            good.clone() + "perturbations: [{ at_step: 1, set: [\"(plugged lamp_9)\"] }]\n",
            "perturbations[0].set[0]: unknown object lamp_9",
        ),
        (
            good.replace(
                "plug_in(robot_b, lamp, living_room)",
                "plug_in(lamp, robot_b, living_room)",
            ),
            "reference_plan[0]: plug_in: r = \"lamp\" is of type appliance, not robot",
        ),
        (
            good.replace(
                &home.join("binding.yaml").display().to_string(),
                &bad_binding.display().to_string(),
            ),
            "actions.switch_on.robot: switch_on has no parameter ?robot",
        ),
        (
            good.replace(
                &problems.join("lamp-on.pddl").display().to_string(),
                &bad_problem.display().to_string(),
            ),
            "goal: unknown predicate glowing",
        ),
        (
            good.clone() + "budget: { max_steps: 3 }\n",
            "unknown field `budget`",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = write(dir.path(), &format!("bad-{i}.yaml"), text);
        let out = clea(&["sim", f.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{i}: {err}");
        assert!(err.contains(want), "{i}: {err:?} lacks {want:?}");
        assert!(
            err.contains(&format!("bad-{i}.yaml")),
            "{i}: names the file: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{i}: one line: {err}");
    }
}

#[test]
fn an_impossible_goal_is_reported_and_the_others_are_still_achieved() {
    let dir = tempfile::tempdir().expect("tmp");
    let kitchen = root().join("sim/domains/clea-kitchen");
    // The attic is near no navigation point and in no robot's reach: nothing can be put there.
    // The other two goals need the fridge opened and the mobile robot to carry.
    let problem = "(define (problem attic) (:domain clea-kitchen)
      (:objects robot_1 - robot p_table p_fridge - navigation_point
                table fridge attic - receptacle apple cup - item)
      (:init (mobile robot_1) (manipulates robot_1) (hand_free robot_1) (at robot_1 p_table)
             (near table p_table) (near fridge p_fridge) (openable fridge)
             (in apple fridge) (in cup table))
      (:goal (and (in apple table) (in cup attic) (in cup fridge))))";
    write(dir.path(), "attic.pddl", problem);
    let scenario = format!(
        "binding: {}\nproblem: attic.pddl\ninstruction: Apple to the table, cup to the attic and to the fridge.\n",
        kitchen.join("binding.yaml").display()
    );
    let s = write(dir.path(), "attic.yaml", &scenario);
    let eps = episodes(&["sim", s.to_str().expect("utf-8"), "--json"]);
    let e = &eps[0];
    assert_eq!(e["success"], false, "{e}");
    assert_eq!(
        e["reason"], "done: 2 of 3 goals hold in the belief; impossible: (in cup attic)",
        "{e}"
    );
    assert_eq!(
        e["goals_unmet"],
        serde_json::json!(["(in cup attic)"]),
        "{e}"
    );
    assert!(
        (e["score"].as_f64().expect("score") - 2.0 / 3.0).abs() < 1e-9,
        "{e}"
    );
}
