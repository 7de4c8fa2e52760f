//! The episode controller as a pure state machine: transitions for each event, hierarchical
//! replanning, ablations, budgets and e-stop, without any bus.

use clea_agent::controller::{
    is_terminal, CheckedPlan, Controller, ControllerConfig, Event, State,
};
use clea_skills::{parse_call, validate};
use statig::blocking::{IntoStateMachineExt as _, StateMachine};

fn vocab() -> clea_bus::msg::WorldVocabulary {
    use clea_bus::msg::{ReceptacleInfo, ReceptacleKind, RobotInfo, WorldVocabulary};
    WorldVocabulary {
        navigation_points: vec!["in_front_of_table".into(), "in_front_of_oven".into()],
        receptacles: vec![ReceptacleInfo {
            name: "table".into(),
            kind: ReceptacleKind::Surface,
            openable: false,
            near: Some("in_front_of_table".into()),
            heats: false,
        }],
        objects: vec!["apple".into()],
        robots: vec![RobotInfo {
            name: "robot_1".into(),
            mobile: true,
            arms: 1,
            carry: 1,
            reach: vec![],
        }],
    }
}

fn plan(calls: &[&str]) -> Event {
    Event::PlanReady(CheckedPlan {
        done: false,
        subgoal: "on(apple, table)".into(),
        actions: calls
            .iter()
            .map(|c| validate(&parse_call(c).unwrap(), &vocab()).unwrap())
            .collect(),
        invalid: vec![],
    })
}

fn done_plan() -> Event {
    Event::PlanReady(CheckedPlan {
        done: true,
        subgoal: "task complete".into(),
        actions: vec![],
        invalid: vec![],
    })
}

fn belief(contradictions: &[&str]) -> Event {
    Event::BeliefReady {
        contradictions: contradictions.iter().map(|s| s.to_string()).collect(),
    }
}

fn verdict(feasible: bool) -> Event {
    Event::Verdict {
        feasible,
        feedback: if feasible {
            "ok".into()
        } else {
            "robot_1 cannot reach table".into()
        },
    }
}

fn skill(success: bool) -> Event {
    Event::SkillDone {
        success,
        outcome: if success {
            "succeeded".into()
        } else {
            "failed: slipped".into()
        },
        unreachable: false,
    }
}

fn machine(config: ControllerConfig) -> StateMachine<Controller> {
    let mut sm = Controller::new(config).state_machine();
    sm.handle(&Event::Start);
    sm
}

fn name(sm: &StateMachine<Controller>) -> &'static str {
    sm.state().name()
}

/// Drive to Planning: observe, summarize (no plan yet → plan).
fn to_planning(sm: &mut StateMachine<Controller>) {
    assert_eq!(name(sm), "Observing");
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    assert_eq!(name(sm), "Planning");
}

#[test]
fn happy_path_plan_critique_execute_verify_done() {
    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    sm.handle(&plan(&[
        "go_to(robot_1, in_front_of_oven)",
        "go_to(robot_1, in_front_of_table)",
    ]));
    assert_eq!(name(&sm), "Critiquing");
    sm.handle(&verdict(true));
    assert_eq!(name(&sm), "Executing");
    sm.handle(&skill(true));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    assert_eq!(
        name(&sm),
        "Critiquing",
        "the plan continues without replanning"
    );
    sm.handle(&verdict(true));
    sm.handle(&skill(true));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    assert_eq!(name(&sm), "Planning", "plan used up");
    sm.handle(&done_plan());
    assert_eq!(
        name(&sm),
        "Verifying",
        "a planner's done must pass the critic"
    );
    sm.handle(&verdict(true));
    assert_eq!(name(&sm), "Done");
    assert_eq!(sm.counters.steps, 2);
    assert_eq!(sm.counters.plans, 2);
    assert_eq!(sm.counters.replans, 0);
    let t: Vec<String> = sm
        .transitions
        .iter()
        .map(|(a, b)| format!("{a}>{b}"))
        .collect();
    assert_eq!(t[0], "Idle>Observing");
    assert_eq!(t.last().unwrap(), "Verifying>Done");
}

#[test]
fn critic_no_replans_the_same_subgoal() {
    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    sm.handle(&plan(&[
        "go_to(robot_1, in_front_of_oven)",
        "go_to(robot_1, in_front_of_table)",
    ]));
    sm.handle(&verdict(false));
    assert_eq!(name(&sm), "Planning");
    assert_eq!(
        sm.subgoal.as_deref(),
        Some("on(apple, table)"),
        "subgoal kept"
    );
    assert!(sm.queue.is_empty(), "the rest of the plan is dropped");
    assert_eq!(sm.feedback, ["robot_1 cannot reach table"]);
    assert_eq!(sm.counters.critic_rejections, 1);
    sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
    assert_eq!(sm.counters.replans, 1);
    assert!(sm.feedback.is_empty(), "feedback is consumed by the plan");
}

#[test]
fn contradiction_and_failure_drop_the_subgoal() {
    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    sm.handle(&plan(&[
        "go_to(robot_1, in_front_of_oven)",
        "go_to(robot_1, in_front_of_table)",
    ]));
    sm.handle(&verdict(true));
    sm.handle(&skill(true));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&["apple is no longer in table"]));
    assert_eq!(name(&sm), "Planning");
    assert_eq!(
        sm.subgoal, None,
        "an observation that contradicts the belief drops the subgoal"
    );
    assert!(sm.feedback[0].contains("apple is no longer in table"));

    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    sm.handle(&plan(&[
        "go_to(robot_1, in_front_of_oven)",
        "go_to(robot_1, in_front_of_table)",
    ]));
    sm.handle(&verdict(true));
    sm.handle(&skill(false));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    assert_eq!(name(&sm), "Planning", "a failed skill replans");
    assert_eq!(
        sm.feedback,
        ["go_to(robot_1, in_front_of_oven) failed: slipped"]
    );
}

#[test]
fn critic_off_executes_directly_and_accepts_done() {
    let config = ControllerConfig {
        critic: false,
        ..Default::default()
    };
    let mut sm = machine(config);
    to_planning(&mut sm);
    sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
    assert_eq!(name(&sm), "Executing");
    sm.handle(&skill(true));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    sm.handle(&done_plan());
    assert_eq!(name(&sm), "Done");
}

#[test]
fn open_loop_plans_once_and_ignores_feedback() {
    let config = ControllerConfig {
        open_loop: true,
        ..Default::default()
    };
    let mut sm = machine(config);
    to_planning(&mut sm);
    sm.handle(&plan(&[
        "go_to(robot_1, in_front_of_oven)",
        "go_to(robot_1, in_front_of_table)",
    ]));
    assert_eq!(name(&sm), "Executing", "no critic in open loop");
    sm.handle(&skill(false));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&["something moved"]));
    assert_eq!(
        name(&sm),
        "Executing",
        "failures and contradictions do not replan"
    );
    sm.handle(&skill(true));
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    assert_eq!(
        name(&sm),
        "Done",
        "the open-loop plan ran out: declared done"
    );
    assert_eq!(sm.counters.plans, 1);
}

#[test]
fn running_owns_estop_budgets_and_module_failures() {
    for (event, want) in [
        (Event::EStop("operator".into()), "Stopped"),
        (
            Event::BudgetExceeded("step budget of 3 used up".into()),
            "Failed",
        ),
        (Event::ModuleFailed("planner: no answer".into()), "Failed"),
    ] {
        for depth in 0..3 {
            let mut sm = machine(ControllerConfig::default());
            if depth >= 1 {
                to_planning(&mut sm);
            }
            if depth >= 2 {
                sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
                assert_eq!(name(&sm), "Critiquing");
            }
            sm.handle(&event);
            assert_eq!(name(&sm), want, "{event:?} at depth {depth}");
            assert!(is_terminal(sm.state()));
            sm.handle(&Event::ObservationReady);
            assert_eq!(name(&sm), want, "terminal states stay");
        }
    }
    let mut sm = machine(ControllerConfig::default());
    sm.handle(&Event::EStop("operator".into()));
    assert_eq!(
        sm.state(),
        &State::Stopped {
            reason: "e-stop: operator".into()
        }
    );
}

#[test]
fn bounded_rejections_and_invalid_plans() {
    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    for _ in 0..5 {
        sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
        sm.handle(&verdict(false));
    }
    assert!(
        matches!(sm.state(), State::Failed { reason } if reason.contains("rejected 5 actions in a row"))
    );

    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    let invalid = Event::PlanReady(CheckedPlan {
        done: false,
        subgoal: "x".into(),
        actions: vec![],
        invalid: vec!["fly(robot_1): unknown skill".into()],
    });
    sm.handle(&invalid);
    assert_eq!(name(&sm), "Planning", "an invalid plan is sent back");
    assert_eq!(
        sm.feedback,
        ["invalid call rejected: fly(robot_1): unknown skill"]
    );
    sm.handle(&invalid);
    sm.handle(&invalid);
    assert!(
        matches!(sm.state(), State::Failed { reason } if reason.contains("invalid calls 3 times"))
    );
    assert_eq!(sm.counters.invalid_calls, 3);
}

#[test]
fn an_unreachable_robot_ends_the_episode_early() {
    let mut sm = machine(ControllerConfig::default());
    to_planning(&mut sm);
    let gone = Event::SkillDone {
        success: false,
        outcome: "failed: no skill server for robot_1/go_to".into(),
        unreachable: true,
    };
    sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
    sm.handle(&verdict(true));
    sm.handle(&gone);
    assert_eq!(name(&sm), "Observing", "one miss is retried");
    sm.handle(&Event::ObservationReady);
    sm.handle(&belief(&[]));
    sm.handle(&plan(&["go_to(robot_1, in_front_of_oven)"]));
    sm.handle(&verdict(true));
    sm.handle(&gone);
    assert!(matches!(sm.state(), State::Failed { reason } if reason.contains("robot unreachable")));
}
