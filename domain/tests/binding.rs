//! Skill bindings: the bad-binding table, and calls validated and checked against a bound domain.

use clea_domain::binding::read_bound_domain;
use clea_domain::call::{call_schema, unmet_precondition, validate_positional, CallError};
use clea_domain::{parse_problem, ErrorKind, Task};

const DOMAIN: &str = "(define (domain lamps) (:requirements :typing)
  (:types robot lamp)
  (:predicates (on ?l - lamp) (near ?r - robot ?l - lamp) (sees ?r - robot ?t - object) (broken ?l - lamp))
  (:derived (sees ?r - robot ?t - object) (near ?r ?t))
  (:action switch_on :parameters (?r - robot ?l - lamp)
    :precondition (and (near ?r ?l) (not (on ?l))) :effect (on ?l))
  (:action approach :parameters (?r - robot ?l - lamp) :effect (near ?r ?l))
  (:action burn_out :parameters (?l - lamp) :precondition (on ?l) :effect (broken ?l)))";

const GOOD: &str = "domain: domain.pddl
actions:
  switch_on: { robot: r, description: Switch a lamp on., timeout_s: 5 }
  approach: { robot: r, description: Go next to a lamp. }
dynamics: [burn_out]
observation: { sees: sees }
";

fn write(dir: &std::path::Path, binding: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("domain.pddl"), DOMAIN).expect("write");
    let f = dir.join("binding.yaml");
    std::fs::write(&f, binding).expect("write");
    f
}

#[test]
fn bad_bindings_name_file_field_and_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (GOOD.replace("robot: r, description: Switch", "robot: x, description: Switch"), "actions.switch_on.robot: switch_on has no parameter ?x (its parameters: ?r ?l)"),
        (GOOD.replace("  approach:", "  fly: { robot: r, description: Fly. }\n  approach:"), "actions.fly: the domain has no action fly"),
        (GOOD.replace("dynamics: [burn_out]", "dynamics: []"), "actions: domain action burn_out is neither a skill (actions) nor world dynamics (dynamics)"),
        (GOOD.replace("dynamics: [burn_out]", "dynamics: [burn_out, approach]"), "dynamics[1]: approach is a skill too"),
        (GOOD.replace("timeout_s: 5", "timeout_s: -5"), "actions.switch_on.timeout_s: -5 is not a positive number of seconds"),
        (GOOD.replace("{ sees: sees }", "{ sees: on }"), "observation.sees: on must take two parameters"),
        (GOOD.replace("{ sees: sees }", "{ sees: looks }"), "observation.sees: the domain has no predicate looks"),
        (GOOD.replace("dynamics:", "dynamic:"), "binding.yaml:5: unknown field `dynamic`"),
    ];
    for (text, want) in cases {
        let f = write(dir.path(), &text);
        let e = read_bound_domain(&f).expect_err("must not load");
        assert!(matches!(e.kind, ErrorKind::Binding), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(want), "{msg:?} lacks {want:?}");
        assert!(msg.contains("binding.yaml"), "{msg:?} names the file");
    }
}

#[test]
fn calls_are_validated_checked_and_described_by_the_bound_domain() {
    let dir = tempfile::tempdir().expect("tmp");
    let bound = read_bound_domain(&write(dir.path(), GOOD)).expect("loads");
    assert_eq!(bound.binding.timeout_s("switch_on"), 5.0);
    assert_eq!(
        bound.binding.timeout_s("approach"),
        clea_domain::binding::DEFAULT_TIMEOUT_S
    );
    let problem = parse_problem(
        &bound.domain,
        "(define (problem p) (:domain lamps) (:objects r1 - robot a b - lamp)
           (:init (near r1 a) (on b)) (:goal (on a)))",
    )
    .expect("problem");
    let task = Task::ground(&bound.domain, &problem).expect("grounds");
    let b = &bound.binding;

    let call = validate_positional(&task, b, "switch_on", &["r1", "a"]).expect("valid");
    assert_eq!(call.robot, "r1");
    assert_eq!(call.to_string(), "switch_on(r1, a)");
    for (skill, args, want) in [
        (
            "burn_out",
            vec!["a"],
            "unknown skill \"burn_out\" (the skills are approach, switch_on)",
        ),
        (
            "switch_on",
            vec!["a", "r1"],
            "switch_on: r = \"a\" is of type lamp, not robot",
        ),
        (
            "switch_on",
            vec!["r1", "lamp_9"],
            "switch_on: l = \"lamp_9\" is not an object of this world",
        ),
        ("switch_on", vec!["r1"], "switch_on: missing argument \"l\""),
        (
            "switch_on",
            vec!["r1", "a", "b"],
            "switch_on: unknown argument \"#3\"",
        ),
    ] {
        let e: CallError = validate_positional(&task, b, skill, &args).expect_err("invalid");
        assert_eq!(e.to_string(), want);
    }

    // The critic's rule check names the unmet literal.
    assert_eq!(unmet_precondition(&task, &task.init, &call), None);
    let far = validate_positional(&task, b, "switch_on", &["r1", "b"]).expect("valid");
    assert_eq!(
        unmet_precondition(&task, &task.init, &far).as_deref(),
        Some("(near r1 b)")
    );
    let approach = task
        .find_action("approach", &["r1", "b"])
        .expect("grounded");
    let s = task.apply(approach, &task.init);
    assert_eq!(
        unmet_precondition(&task, &s, &far).as_deref(),
        Some("(not (on b))")
    );

    // What the robot perceives: facts over itself and what it sees, true or false.
    let seen = clea_domain::binding::perceived(&task, b, &task.init, "r1");
    let text: Vec<(String, bool)> = seen.iter().map(|(a, v)| (task.atom_text(*a), *v)).collect();
    assert!(text.contains(&("(on a)".into(), false)), "{text:?}");
    assert!(text.contains(&("(near r1 a)".into(), true)), "{text:?}");
    assert!(
        !text.iter().any(|(t, _)| t == "(on b)"),
        "b is not seen: {text:?}"
    );

    // The schema: one variant per skill, objects of each parameter's type as enums.
    let schema = call_schema(&task, b);
    let variants = schema["oneOf"].as_array().expect("oneOf");
    assert_eq!(variants.len(), 2);
    let switch = variants
        .iter()
        .find(|v| v["properties"]["skill"]["const"] == "switch_on")
        .expect("switch_on");
    assert_eq!(
        switch["properties"]["args"]["properties"]["l"]["enum"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(
        switch["properties"]["args"]["properties"]["r"]["enum"],
        serde_json::json!(["r1"])
    );
    assert_eq!(switch["description"], "Switch a lamp on.");
}
