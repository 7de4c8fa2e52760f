//! The domain agent's closed loop on the CLEA kitchen written as data, under partial
//! observability: the belief holds only what the robots perceive, the planner assumes the cheap
//! possibilities, the loop goes to look and replans when an observation refutes an assumption.
//! The world here is the bare domain semantics (`clea_domain`): apply a call when its
//! precondition holds, perceive through the binding's observation model.

use clea_agent::domain_agent::{
    run_domain_episode, DomainAgentOptions, DomainEnv, Observability, GIVE_UP_SWEEPS,
};
use clea_domain::binding::{perceived, read_bound_domain};
use clea_domain::call::Call;
use clea_domain::{AtomId, BoundDomain, State, Task};
use std::path::PathBuf;

fn kitchen() -> BoundDomain {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    read_bound_domain(&root.join("sim/domains/clea-kitchen/binding.yaml")).expect("kitchen")
}

struct World<'a> {
    task: &'a Task,
    bound: &'a BoundDomain,
    state: State,
    steps: u32,
}

impl DomainEnv for World<'_> {
    fn execute(&mut self, call: &Call) -> Result<(), String> {
        self.steps += 1;
        let args: Vec<&str> = call.args.iter().map(String::as_str).collect();
        match self.task.find_action(&call.skill, &args) {
            Some(a) if self.task.applicable(a, &self.state) => {
                self.state = self.task.apply(a, &self.state);
                Ok(())
            }
            _ => Err(format!("{call}: precondition does not hold")),
        }
    }
    fn perceive(&self, robot: &str) -> Vec<(AtomId, bool)> {
        perceived(self.task, &self.bound.binding, &self.state, robot)
    }
    fn out_of_steps(&self) -> bool {
        self.steps >= 40
    }
}

/// A robot in front of a closed cabinet and the table; another closed cabinet across the room.
fn task(bound: &BoundDomain, apple_in: &str) -> Task {
    let p = format!(
        "(define (problem look) (:domain clea-kitchen)
          (:objects robot_1 - robot p_here p_far - navigation_point
                    cabinet_here table cabinet_far attic - receptacle apple cup - item)
          (:init (mobile robot_1) (manipulates robot_1) (hand_free robot_1) (at robot_1 p_here)
                 (near cabinet_here p_here) (near table p_here) (near cabinet_far p_far)
                 (openable cabinet_here) (openable cabinet_far)
                 (in apple {apple_in}) (in cup cabinet_far))
          (:goal (and (in apple table) (in cup table))))"
    );
    let problem = clea_domain::parse_problem(&bound.domain, &p).expect("problem");
    Task::ground(&bound.domain, &problem).expect("grounds")
}

fn run(bound: &BoundDomain, task: &Task) -> (clea_agent::domain_agent::DomainOutcome, State) {
    let mut world = World {
        task,
        bound,
        state: task.init.clone(),
        steps: 0,
    };
    let opts = DomainAgentOptions {
        observability: Observability::Partial,
        ..DomainAgentOptions::default()
    };
    let out = run_domain_episode(task, &bound.binding, &mut world, &opts);
    (out, world.state)
}

#[test]
fn the_plan_looks_into_the_container_in_front_before_driving_and_replans_when_refuted() {
    let bound = kitchen();
    let task = task(&bound, "cabinet_far");
    let (out, state) = run(&bound, &task);
    assert!(task.goal.holds(&state), "{out:?}");
    assert_eq!(out.reason, "done: the goal holds in the belief");
    // Nothing says where the apple is: the closed cabinet in front is cheaper to look into
    // than a drive, so it is opened first; empty, it refutes the assumption.
    assert_eq!(out.executed[0], "open(robot_1, cabinet_here)", "{out:?}");
    assert_eq!(out.executed[1], "go_to(robot_1, p_far)", "{out:?}");
    assert!(out.replans >= 1, "{out:?}");
    assert!(out.impossible_goals.is_empty());
}

#[test]
fn an_object_found_nowhere_after_two_sweeps_is_reported_and_the_rest_is_done() {
    let bound = kitchen();
    // The apple is in the attic, which no robot can reach or see into.
    let task = task(&bound, "attic");
    let (out, state) = run(&bound, &task);
    assert_eq!(out.impossible_goals, ["(in apple table)"], "{out:?}");
    assert!(
        task.holds("in", &["cup", "table"], &state),
        "the other goal is still achieved: {out:?}"
    );
    assert_eq!(
        out.reason,
        "done: 1 of 2 goals hold in the belief; impossible: (in apple table)"
    );
    // Two sweeps: after the first found the apple nowhere, the belief forgot what was out of
    // view and searched again before giving up.
    assert_eq!(out.sweeps, GIVE_UP_SWEEPS - 1, "{out:?}");
    assert!(
        out.executed
            .contains(&"open(robot_1, cabinet_far)".to_string()),
        "it looked into the far cabinet: {out:?}"
    );
}

#[test]
fn with_full_observability_the_plan_goes_straight_to_the_object() {
    let bound = kitchen();
    let task = task(&bound, "cabinet_far");
    let mut world = World {
        task: &task,
        bound: &bound,
        state: task.init.clone(),
        steps: 0,
    };
    let out = run_domain_episode(
        &task,
        &bound.binding,
        &mut world,
        &DomainAgentOptions::default(),
    );
    assert!(task.goal.holds(&world.state), "{out:?}");
    assert_eq!(out.executed[0], "go_to(robot_1, p_far)", "{out:?}");
    assert_eq!(out.replans, 0, "{out:?}");
}

/// EAI VirtualHome's `grab`, cut down: nothing inside a closed container can be grabbed, and
/// the character sees what it is next to unless it is inside something closed.
const CUPBOARDS: &str = "(define (domain cupboards)
  (:requirements :typing :negative-preconditions :existential-preconditions :derived-predicates)
  (:types agent thing)
  (:predicates (next_to ?a - agent ?t - thing) (inside ?t - thing ?c - thing)
               (closed ?c - thing) (container ?c - thing) (holds ?a - agent ?t - thing)
               (sees ?a - agent ?t - thing))
  (:derived (sees ?a - agent ?t - thing)
    (and (next_to ?a ?t) (not (exists (?c - thing) (and (inside ?t ?c) (closed ?c))))))
  (:action walk :parameters (?a - agent ?t - thing) :effect (next_to ?a ?t))
  (:action open :parameters (?a - agent ?c - thing)
    :precondition (and (container ?c) (next_to ?a ?c) (closed ?c)) :effect (not (closed ?c)))
  (:action grab :parameters (?a - agent ?t - thing)
    :precondition (and (next_to ?a ?t) (not (exists (?c - thing) (and (inside ?t ?c) (closed ?c)))))
    :effect (holds ?a ?t))
  (:action put_in :parameters (?a - agent ?t - thing ?c - thing)
    :precondition (and (holds ?a ?t) (container ?c) (next_to ?a ?c) (not (closed ?c)))
    :effect (and (inside ?t ?c) (not (holds ?a ?t))))
  (:action drop :parameters (?a - agent ?t - thing ?c - thing)
    :precondition (and (holds ?a ?t) (inside ?t ?c)) :effect (not (holds ?a ?t))))";

const CUPBOARDS_BINDING: &str = "domain: cupboards.pddl
actions:
  walk: { robot: a, description: Walk next to a thing. }
  open: { robot: a, description: Open a container. }
  grab: { robot: a, description: Grab a thing. }
  put_in: { robot: a, description: Put a held thing into a container. }
  drop: { robot: a, description: Let go of a held thing. }
observation:
  sees: sees
";

#[test]
fn a_grab_that_fails_in_front_of_a_closed_cupboard_makes_the_next_plan_open_it() {
    let domain = clea_domain::parse_domain(CUPBOARDS).expect("domain");
    let binding = clea_domain::binding::parse_binding(CUPBOARDS_BINDING).expect("binding");
    binding.check(&domain).expect("binding fits");
    let bound = BoundDomain { domain, binding };
    // The glass is inside the closed cupboard it stands beside; nothing says so.
    let p = "(define (problem drink) (:domain cupboards)
      (:objects me - agent glass cupboard shelf - thing)
      (:init (container cupboard) (container shelf) (closed cupboard) (inside glass cupboard)
             (next_to me cupboard))
      (:goal (holds me glass)))";
    let problem = clea_domain::parse_problem(&bound.domain, p).expect("problem");
    let task = Task::ground(&bound.domain, &problem).expect("grounds");
    let (out, state) = run(&bound, &task);
    assert!(task.goal.holds(&state), "{out:?}");
    // Walk to the (unseen) glass and grab it: that fails, and the one thing that could be in
    // the way is the closed cupboard in view, so it is opened, and then the grab works.
    let open = out
        .executed
        .iter()
        .position(|c| c == "open(me, cupboard)")
        .expect("opened");
    assert!(
        out.executed[..open].contains(&"grab(me, glass)".to_string()),
        "{out:?}"
    );
    assert_eq!(out.executed.last().unwrap(), "grab(me, glass)", "{out:?}");
}
