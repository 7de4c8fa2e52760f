//! The symbolic backends without a bus: summarizer (prediction, contradictions), search planner
//! (exploration, subgoals, done, open-loop chaining), rule critic.

use clea_agent::modules::Observer;
use clea_agent::modules::{Critic, Planner, Summarizer};
use clea_agent::symbolic::{RuleCritic, SearchPlanner, StructuredObserver, SymbolicSummarizer};
use clea_bus::msg::*;
use clea_skills::parse_call;

fn vocab() -> WorldVocabulary {
    serde_yaml::from_str(
        r#"
navigation_points: [in_front_of_table, in_front_of_refrigerator, in_front_of_oven]
receptacles:
  - { name: table, kind: surface, near: in_front_of_table }
  - { name: refrigerator, kind: container, openable: true, near: in_front_of_refrigerator }
  - { name: oven, kind: container, openable: true, near: in_front_of_oven, heats: true }
objects: [apple, orange]
robots:
  - { name: robot_1, mobile: true, arms: 2, carry: 1 }
"#,
    )
    .expect("a world vocabulary")
}

fn task(goals: &[&str]) -> TaskSpec {
    TaskSpec {
        scenario: "t".into(),
        instruction: "roast the apple".into(),
        goals: goals.iter().map(|g| g.to_string()).collect(),
        vocabulary: vocab(),
        known_locations: Default::default(),
        max_steps: 30,
        max_wall_time_s: 10.0,
        seed: 0,
    }
}

fn view(receptacle: &str, open: Option<bool>, objects: &[&str]) -> ReceptacleView {
    ReceptacleView {
        receptacle: receptacle.into(),
        open,
        contents_visible: open != Some(false),
        objects: objects
            .iter()
            .map(|o| ObservedObject {
                object: o.to_string(),
                roasted: false,
            })
            .collect(),
    }
}

fn obs(step: u32, place: &str, holding: &[&str], in_view: Vec<ReceptacleView>) -> Observation {
    let r = RobotObservation {
        robot: "robot_1".into(),
        step,
        place: Some(place.into()),
        holding: holding.iter().map(|s| s.to_string()).collect(),
        in_view,
    };
    let text = clea_agent::symbolic::observer::render(std::slice::from_ref(&r));
    Observation {
        step,
        robots: vec![r],
        text,
    }
}

async fn belief_after(
    s: &mut SymbolicSummarizer,
    reset: Option<TaskSpec>,
    o: Observation,
    action: Option<&str>,
    ok: bool,
) -> Belief {
    let req = MemoryRequest {
        reset,
        observation: o,
        action: action.map(|a| parse_call(a).unwrap()),
        outcome: action.map(|_| {
            if ok {
                SkillOutcome::Succeeded
            } else {
                SkillOutcome::Failed { reason: "x".into() }
            }
        }),
    };
    s.summarize(&req).await.unwrap()
}

async fn plan(t: &TaskSpec, b: &Belief, o: &Observation, max_actions: u32) -> Plan {
    let req = PlanRequest {
        task: t.clone(),
        belief: b.clone(),
        observation: o.clone(),
        feedback: vec![],
        subgoal: None,
        max_actions,
    };
    SearchPlanner.plan(&req).await.unwrap()
}

fn texts(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|c| clea_skills::validate(c, &vocab()).unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn explores_then_plans_then_is_done() {
    let t = task(&["roasted(apple)", "on(apple, table)"]);
    let mut mem = SymbolicSummarizer::new(8);
    let o0 = obs(
        0,
        "in_front_of_table",
        &[],
        vec![view("table", None, &["orange"])],
    );
    let b0 = belief_after(&mut mem, Some(t.clone()), o0.clone(), None, true).await;
    assert_eq!(
        b0.objects
            .iter()
            .find(|o| o.object == "apple")
            .unwrap()
            .location,
        None
    );
    let p0 = plan(&t, &b0, &o0, 5).await;
    assert!(
        p0.subgoal.starts_with("find apple: look into"),
        "{}",
        p0.subgoal
    );
    assert!(!p0.actions.is_empty() && p0.actions.len() <= 5);

    // The apple turns up in the refrigerator.
    let o1 = obs(
        2,
        "in_front_of_refrigerator",
        &[],
        vec![view("refrigerator", Some(true), &["apple"])],
    );
    let b1 = belief_after(
        &mut mem,
        None,
        o1.clone(),
        Some("open(robot_1, refrigerator)"),
        true,
    )
    .await;
    assert!(b1.contradictions.is_empty(), "{:?}", b1.contradictions);
    let p1 = plan(&t, &b1, &o1, 5).await;
    assert_eq!(p1.subgoal, "roasted(apple) and on(apple, table)");
    assert_eq!(texts(&p1)[0], "pick_from(robot_1, apple, refrigerator)");
    assert_eq!(p1.actions.len(), 5, "CLEA plans at most 5 actions ahead");

    // Open-loop mode plans the whole subgoal at once.
    let full = plan(&t, &b1, &o1, 30).await;
    assert_eq!(
        texts(&full),
        [
            "pick_from(robot_1, apple, refrigerator)",
            "go_to(robot_1, in_front_of_oven)",
            "open(robot_1, oven)",
            "release_to(robot_1, apple, oven)",
            "close(robot_1, oven)",
            "open(robot_1, oven)",
            "pick_from(robot_1, apple, oven)",
            "go_to(robot_1, in_front_of_table)",
            "release_to(robot_1, apple, table)",
        ]
    );

    // Seen roasted on the table: done, and the critic agrees.
    let mut o2 = obs(
        11,
        "in_front_of_table",
        &[],
        vec![view("table", None, &["orange", "apple"])],
    );
    o2.robots[0].in_view[0].objects[1].roasted = true;
    let b2 = belief_after(
        &mut mem,
        None,
        o2.clone(),
        Some("release_to(robot_1, apple, table)"),
        true,
    )
    .await;
    assert_eq!(b2.goals_holding, ["roasted(apple)", "on(apple, table)"]);
    assert!(plan(&t, &b2, &o2, 5).await.done);
    let req = CritiqueRequest {
        task: t.clone(),
        belief: b2.clone(),
        observation: o2.clone(),
        action: None,
        subgoal: String::new(),
        trigger: Default::default(),
    };
    assert!(RuleCritic.judge(&req).await.unwrap().feasible);
    let req = CritiqueRequest {
        belief: b1.clone(),
        ..req
    };
    let v = RuleCritic.judge(&req).await.unwrap();
    assert!(
        !v.feasible && v.feedback.contains("roasted(apple)"),
        "{}",
        v.feedback
    );
}

#[tokio::test]
async fn surprises_are_contradictions_predicted_effects_are_not() {
    let t = task(&["on(apple, table)"]);
    let mut mem = SymbolicSummarizer::new(2);
    let o0 = obs(
        0,
        "in_front_of_table",
        &[],
        vec![view("table", None, &["apple", "orange"])],
    );
    belief_after(&mut mem, Some(t.clone()), o0, None, true).await;
    // Picking the apple: predicted, no contradiction.
    let o1 = obs(
        1,
        "in_front_of_table",
        &["apple"],
        vec![view("table", None, &["orange"])],
    );
    let b1 = belief_after(
        &mut mem,
        None,
        o1,
        Some("pick_from(robot_1, apple, table)"),
        true,
    )
    .await;
    assert!(b1.contradictions.is_empty(), "{:?}", b1.contradictions);
    // Someone takes the orange away: a contradiction, and the orange's place becomes unknown.
    let o2 = obs(
        2,
        "in_front_of_table",
        &["apple"],
        vec![view("table", None, &[])],
    );
    let b2 = belief_after(
        &mut mem,
        None,
        o2,
        Some("go_to(robot_1, in_front_of_table)"),
        false,
    )
    .await;
    assert_eq!(b2.contradictions, ["orange is no longer in table"]);
    assert_eq!(
        b2.objects
            .iter()
            .find(|o| o.object == "orange")
            .unwrap()
            .location,
        None
    );
    // The history buffer is bounded.
    assert_eq!(mem.memory().unwrap().history().count(), 2);
}

#[tokio::test]
async fn critic_checks_preconditions_and_redundancy() {
    let t = task(&["on(apple, table)"]);
    let mut mem = SymbolicSummarizer::new(4);
    let o0 = obs(
        0,
        "in_front_of_table",
        &[],
        vec![view("table", None, &["orange"])],
    );
    let b0 = belief_after(&mut mem, Some(t.clone()), o0.clone(), None, true).await;
    let judge = |call: &str| CritiqueRequest {
        task: t.clone(),
        belief: b0.clone(),
        observation: o0.clone(),
        action: Some(parse_call(call).unwrap()),
        subgoal: String::new(),
        trigger: Default::default(),
    };
    let cases = [
        ("pick_from(robot_1, orange, table)", true, "feasible"),
        (
            "pick_from(robot_1, apple, table)",
            false,
            "apple is not in table",
        ),
        ("go_to(robot_1, in_front_of_table)", false, "redundant"),
        ("open(robot_1, oven)", false, "cannot reach oven"),
        ("open(robot_1, refrigerator)", false, "cannot reach"),
    ];
    for (call, feasible, why) in cases {
        let v = RuleCritic.judge(&judge(call)).await.unwrap();
        assert_eq!(v.feasible, feasible, "{call}: {}", v.feedback);
        assert!(v.feedback.contains(why), "{call}: {}", v.feedback);
    }
    let mut bad = judge("go_to(robot_1, in_front_of_table)");
    bad.action = Some(SkillCall {
        skill: "teleport".into(),
        args: Default::default(),
    });
    let v = RuleCritic.judge(&bad).await.unwrap();
    assert!(!v.feasible && v.feedback.contains("unknown skill"));
}

#[tokio::test]
async fn observer_sorts_robots_and_renders_text() {
    let o = obs(
        3,
        "in_front_of_refrigerator",
        &["apple"],
        vec![view("refrigerator", Some(false), &[])],
    );
    let out = StructuredObserver.observe(3, &o.robots).await.unwrap();
    assert_eq!(
        out.text,
        "robot_1 (step 3) is at in_front_of_refrigerator, holding apple; sees refrigerator (closed) with hidden contents.\n"
    );
}

/// An object that went missing is searched for; after every receptacle was looked into twice
/// without seeing it, the planner says it is nowhere to be found instead of searching on.
#[tokio::test]
async fn a_missing_object_is_given_up_after_two_sweeps() {
    let t = task(&["on(apple, table)"]);
    let mut mem = SymbolicSummarizer::new(8);
    let all_open = |step: u32, table: &[&str]| {
        obs(
            step,
            "in_front_of_table",
            &[],
            vec![
                view("table", None, table),
                view("refrigerator", Some(true), &[]),
                view("oven", Some(true), &[]),
            ],
        )
    };
    // Seen on the table first: no sweep counted.
    let b = belief_after(
        &mut mem,
        Some(t.clone()),
        all_open(0, &["apple"]),
        None,
        true,
    )
    .await;
    let apple = |b: &Belief| {
        b.objects
            .iter()
            .find(|o| o.object == "apple")
            .unwrap()
            .clone()
    };
    assert_eq!(apple(&b).unseen_sweeps, 0);
    // Gone at step 1: missing since 1, and this look at every receptacle is the first sweep.
    let o1 = all_open(1, &[]);
    let b = belief_after(&mut mem, None, o1.clone(), None, true).await;
    assert_eq!(b.contradictions, ["apple is no longer in table"]);
    let a = apple(&b);
    assert_eq!(
        (a.location, a.missing_since_step, a.unseen_sweeps),
        (None, Some(1), 1)
    );
    assert!(
        b.text
            .contains("apple: location unknown (missing since step 1)"),
        "{}",
        b.text
    );
    // One sweep: the planner still searches (people move things into searched places).
    let p = plan(&t, &b, &o1, 5).await;
    assert!(!p.done);
    // The second sweep: nowhere to be found.
    let o2 = all_open(2, &[]);
    let b = belief_after(&mut mem, None, o2.clone(), None, true).await;
    assert_eq!(apple(&b).unseen_sweeps, 2);
    let req = PlanRequest {
        task: t.clone(),
        belief: b.clone(),
        observation: o2,
        feedback: vec![],
        subgoal: None,
        max_actions: 5,
    };
    let e = SearchPlanner.plan(&req).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("apple is nowhere to be found: every receptacle was looked into 2 times"),
        "{e}"
    );
    // Seen again: the count starts over.
    let b = belief_after(&mut mem, None, all_open(3, &["apple"]), None, true).await;
    let a = apple(&b);
    assert_eq!(
        (a.location.as_deref(), a.missing_since_step, a.unseen_sweeps),
        (Some("table"), None, 0)
    );
}

/// A receptacle no robot can look into does not keep a sweep from completing, and the same
/// observation merged again is no new look.
#[tokio::test]
async fn sweeps_skip_unviewable_receptacles_and_repeated_observations() {
    let mut t = task(&["on(apple, table)"]);
    // A cellar: no navigation point near it, in no robot's reach.
    t.vocabulary
        .receptacles
        .push(serde_yaml::from_str("{ name: cellar, kind: container, openable: true }").unwrap());
    let mut mem = SymbolicSummarizer::new(8);
    let look = |step: u32| {
        obs(
            step,
            "in_front_of_table",
            &[],
            vec![
                view("table", None, &[]),
                view("refrigerator", Some(true), &[]),
                view("oven", Some(true), &[]),
            ],
        )
    };
    let sweeps = |b: &Belief| {
        b.objects
            .iter()
            .find(|o| o.object == "apple")
            .unwrap()
            .unseen_sweeps
    };
    let b = belief_after(&mut mem, Some(t.clone()), look(0), None, true).await;
    assert_eq!(sweeps(&b), 1, "every viewable receptacle seen once");
    // The same step's observation again (a robot that did not act): not counted.
    let b = belief_after(&mut mem, None, look(0), None, true).await;
    assert_eq!(sweeps(&b), 1);
    let b = belief_after(&mut mem, None, look(1), None, true).await;
    assert_eq!(sweeps(&b), 2);
}
