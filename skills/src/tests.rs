//! Unit tests of validation and skill semantics on a small kitchen.

use super::*;
use clea_bus::msg::{SkillCall, WorldVocabulary};
use serde_json::json;

fn vocab() -> WorldVocabulary {
    serde_yaml::from_str(
        r#"
navigation_points: [in_front_of_table, in_front_of_oven]
receptacles:
  - { name: table, kind: surface, near: in_front_of_table }
  - { name: oven, kind: container, openable: true, near: in_front_of_oven, heats: true }
  - { name: drawer_top, kind: container, openable: true }
objects: [apple, orange]
robots:
  - { name: robot_1, mobile: true, arms: 2, carry: 1 }
  - { name: robot_2, mobile: false, arms: 1, carry: 1, reach: [table, drawer_top] }
"#,
    )
    .expect("a world vocabulary")
}

fn call(text: &str) -> Action {
    validate(&parse_call(text).unwrap(), &vocab()).unwrap()
}

fn state() -> WorldState {
    let mut s = WorldState::default();
    s.robot_place
        .insert("robot_1".into(), "in_front_of_table".into());
    s.location
        .insert("apple".into(), Location::In("table".into()));
    s.location
        .insert("orange".into(), Location::In("drawer_top".into()));
    s.open.insert("oven".into(), false);
    s.open.insert("drawer_top".into(), false);
    s
}

#[test]
fn validation_error_kinds() {
    let v = vocab();
    let raw = |skill: &str, args: serde_json::Value| SkillCall {
        skill: skill.into(),
        args: serde_json::from_value(args).unwrap(),
    };
    let cases: Vec<(SkillCall, &str)> = vec![
        (raw("fly", json!({})), "unknown skill"),
        (
            raw("go_to", json!({"robot": "robot_1"})),
            "missing argument \"navigation_point\"",
        ),
        (
            raw(
                "go_to",
                json!({"robot": "robot_1", "navigation_point": "in_front_of_oven", "speed": 1}),
            ),
            "unknown argument \"speed\"",
        ),
        (
            raw("go_to", json!({"robot": 1, "navigation_point": "x"})),
            "must be a string",
        ),
        (
            raw(
                "go_to",
                json!({"robot": "robot_9", "navigation_point": "in_front_of_oven"}),
            ),
            "not a known robot",
        ),
        (
            raw("open", json!({"robot": "robot_1", "openable": "table"})),
            "not a known openable",
        ),
        (
            raw(
                "pick_from",
                json!({"robot": "robot_1", "object": "banana", "receptacle": "table"}),
            ),
            "not a known object",
        ),
        (
            raw(
                "go_to",
                json!({"robot": "robot_2", "navigation_point": "in_front_of_oven"}),
            ),
            "robot_2 lacks a mobile base",
        ),
        // Statically impossible: no navigation point is near drawer_top, so the mobile robot
        // can reach it from nowhere; the oven is out of the fixed arm's reach.
        (
            raw(
                "pick_from",
                json!({"robot": "robot_1", "object": "apple", "receptacle": "drawer_top"}),
            ),
            "robot_1 can reach drawer_top from nowhere; robot_2 can",
        ),
        (
            raw("open", json!({"robot": "robot_2", "openable": "oven"})),
            "robot_2 can reach oven from nowhere; robot_1 can",
        ),
    ];
    for (c, want) in cases {
        let e = validate(&c, &v).unwrap_err().to_string();
        assert!(e.contains(want), "{c}: {e} (wanted {want})");
    }
    assert!(matches!(
        parse_call("go_to(robot_1)"),
        Err(CallError::Arity { .. })
    ));
    assert!(matches!(
        parse_call("go_to robot_1"),
        Err(CallError::Syntax(_))
    ));
}

#[test]
fn valid_call_round_trips() {
    let a = call("pick_from(robot_1, apple, table)");
    assert_eq!(a.to_string(), "pick_from(robot_1, apple, table)");
    assert_eq!(validate(&a.to_call(), &vocab()).unwrap(), a);
}

#[test]
fn every_skill_succeeds_and_applies_effects() {
    let v = vocab();
    let mut s = state();
    for text in [
        "pick_from(robot_1, apple, table)",
        "go_to(robot_1, in_front_of_oven)",
        "open(robot_1, oven)",
        "release_to(robot_1, apple, oven)",
        "close(robot_1, oven)",
    ] {
        let a = call(text);
        assert_eq!(s.check(&v, &a), Check::Holds, "{text}");
        s.apply(&a);
    }
    assert_eq!(s.location["apple"], Location::In("oven".into()));
    assert_eq!(s.settle(&v), vec!["apple".to_string()]);
    assert!(s.roasted.contains("apple"));
    assert!(s.settle(&v).is_empty(), "roasting happens once");
}

/// [`state`] after robot_1 picked the apple from the table.
fn holding_apple() -> WorldState {
    let mut s = state();
    s.apply(&call("pick_from(robot_1, apple, table)"));
    s
}

#[test]
fn each_failure_reason() {
    let v = vocab();
    let holding = holding_apple();
    let cases = [
        (
            state(),
            "open(robot_1, oven)",
            "robot_1 cannot reach oven from in_front_of_table",
        ),
        (
            state(),
            "pick_from(robot_2, orange, drawer_top)",
            "drawer_top is closed",
        ),
        (
            state(),
            "pick_from(robot_1, orange, table)",
            "orange is not in table",
        ),
        (
            state(),
            "release_to(robot_1, apple, table)",
            "robot_1 is not holding apple",
        ),
        (
            state(),
            "close(robot_2, drawer_top)",
            "drawer_top is already closed",
        ),
        (
            holding.clone(),
            "pick_from(robot_2, apple, table)",
            "apple is not in table",
        ),
        (state(), "pick_from(robot_2, apple, table)", ""),
    ];
    for (s, text, want) in cases {
        match s.check(&v, &call(text)) {
            Check::Fails(u) => assert_eq!(u.reason, want, "{text}"),
            Check::Holds => assert!(want.is_empty(), "{text} should fail"),
            Check::Unknown(l) => panic!("{text}: unknown {l}"),
        }
    }
    let mut full = state();
    full.location
        .insert("orange".into(), Location::In("table".into()));
    full.apply(&call("pick_from(robot_1, apple, table)"));
    match full.check(&v, &call("pick_from(robot_1, orange, table)")) {
        Check::Fails(u) => assert!(u.reason.contains("hand is full"), "{}", u.reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_facts_are_unknown_not_false() {
    let v = vocab();
    let mut belief = state();
    belief.open.remove("drawer_top");
    assert_eq!(
        belief.check(&v, &call("open(robot_2, drawer_top)")),
        Check::Unknown("not open(drawer_top)".into())
    );
}

#[test]
fn goals_parse_and_evaluate() {
    let v = vocab();
    let g = Goal::parse("on(apple, table)", &v).unwrap();
    assert_eq!(g.holds(&state(), &Default::default()), Some(true));
    assert!(Goal::parse("on(banana, table)", &v).is_err());
    assert!(Goal::parse("on(apple, moon)", &v).is_err());
    assert!(Goal::parse("cooked(apple)", &v).is_err());
    assert!(Goal::parse("roasted(apple, oven)", &v).is_err());
    let found = Goal::parse("found(orange)", &v).unwrap();
    let mut believed = std::collections::BTreeMap::new();
    assert_eq!(found.holds(&state(), &believed), Some(false));
    believed.insert("orange".into(), "drawer_top".into());
    assert_eq!(found.holds(&state(), &believed), Some(true));
}

#[test]
fn tool_schemas_enumerate_the_vocabulary() {
    let tools = schema::tool_definitions(Some(&vocab()));
    assert_eq!(tools.len(), 5);
    let go_to = &tools[0]["function"];
    assert_eq!(go_to["name"], "go_to");
    assert_eq!(
        go_to["parameters"]["properties"]["navigation_point"]["enum"],
        json!(["in_front_of_oven", "in_front_of_table"])
    );
    assert_eq!(go_to["parameters"]["additionalProperties"], json!(false));
}

fn task(goals: &[&str]) -> clea_bus::msg::TaskSpec {
    clea_bus::msg::TaskSpec {
        scenario: "scope".into(),
        instruction: "roast the apple".into(),
        goals: goals.iter().map(|g| g.to_string()).collect(),
        vocabulary: vocab(),
        known_locations: Default::default(),
        max_steps: 10,
        max_wall_time_s: 60.0,
        seed: 0,
    }
}

/// The object enums of every pick_from / release_to variant of a call schema.
fn object_enums(schema: &serde_json::Value) -> Vec<serde_json::Value> {
    schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| {
            let o = &v["properties"]["args"]["properties"]["object"]["enum"];
            (!o.is_null()).then(|| o.clone())
        })
        .collect()
}

#[test]
fn the_scope_holds_goal_objects_stated_places_and_held_objects_and_refuses_the_rest() {
    let t = task(&["roasted(apple)"]);
    let scope = TaskScope::of(&t, None);
    assert_eq!(scope.objects().iter().collect::<Vec<_>>(), ["apple"]);
    assert_eq!(
        scope.refuses(&call("pick_from(robot_2, apple, table)")),
        None
    );
    let why = scope
        .refuses(&call("pick_from(robot_2, orange, drawer_top)"))
        .expect("off task");
    assert!(
        why.contains("orange is not part of the task (it is about apple)"),
        "{why}"
    );
    // Calls that move nothing are never off task.
    assert_eq!(scope.refuses(&call("open(robot_2, drawer_top)")), None);
    // The instruction states where the orange is: in scope.
    let mut stated = t.clone();
    stated
        .known_locations
        .insert("orange".into(), "drawer_top".into());
    assert!(TaskScope::of(&stated, None).contains("orange"));
    // A robot holding the orange must put it down to pick anything: in scope.
    let belief: clea_bus::msg::Belief = serde_json::from_value(json!({
        "step": 3, "objects": [], "containers": [], "visited": [], "goals_holding": [],
        "text": "", "robots": [{"robot": "robot_2", "place": null, "holding": ["orange"]}],
    }))
    .unwrap();
    let held = TaskScope::of(&t, Some(&belief));
    assert_eq!(
        held.refuses(&call("release_to(robot_2, orange, table)")),
        None
    );
}

#[test]
fn a_scoped_call_schema_cannot_name_an_object_off_task() {
    let whole = schema::call_schema(Some(&vocab()), None);
    assert!(object_enums(&whole)
        .iter()
        .all(|e| e == &json!(["apple", "orange"])));
    let scoped = schema::call_schema(
        Some(&vocab()),
        Some(&TaskScope::of(&task(&["roasted(apple)"]), None)),
    );
    let enums = object_enums(&scoped);
    assert!(!enums.is_empty());
    assert!(enums.iter().all(|e| e == &json!(["apple"])), "{enums:?}");
    // No object in scope: no variant that moves an object at all.
    let nothing = schema::call_schema(Some(&vocab()), Some(&TaskScope::of(&task(&[]), None)));
    assert!(object_enums(&nothing).is_empty());
    assert!(!nothing["oneOf"].as_array().unwrap().is_empty());
}

#[test]
fn each_repair_comes_from_the_state_it_is_asked_about() {
    let v = vocab();
    let holding = holding_apple();
    let cases = [
        (
            state(),
            "open(robot_1, oven)",
            Some("go_to(robot_1, in_front_of_oven) first"),
        ),
        (
            state(),
            "pick_from(robot_2, orange, drawer_top)",
            Some("open(robot_2, drawer_top) first"),
        ),
        (
            state(),
            "pick_from(robot_1, orange, table)",
            Some("the belief has orange in drawer_top"),
        ),
        (
            holding.clone(),
            "pick_from(robot_2, apple, table)",
            Some("the belief has apple held by robot_1"),
        ),
        (
            state(),
            "close(robot_2, drawer_top)",
            Some("no close is needed"),
        ),
        (state(), "pick_from(robot_2, apple, table)", None),
    ];
    for (s, text, want) in cases {
        assert_eq!(s.repair(&v, &call(text)).as_deref(), want, "{text}");
    }
    // Nothing known about the orange: its precondition is unknown, not failing; no repair.
    let mut lost = state();
    lost.location.remove("orange");
    assert_eq!(
        lost.repair(&v, &call("pick_from(robot_1, orange, table)")),
        None
    );
}
