//! The semantics of the domain model on small domains: effects, quantifiers, derived predicates,
//! equality, and the search's answers and limits.

use clea_domain::search::{plan, Limits, SearchError};
use clea_domain::{parse_domain, parse_problem, Task};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn task(domain: &str, problem: &str) -> Task {
    let d = parse_domain(domain).expect("domain");
    let p = parse_problem(&d, problem).expect("problem");
    Task::ground(&d, &p).expect("grounds")
}

fn holds(t: &Task, s: &clea_domain::State, pred: &str, args: &[&str]) -> bool {
    t.atom_id(pred, args).is_some_and(|a| s.get(a))
}

const LAMPS: &str = "(define (domain lamps) (:requirements :adl)
  (:types lamp room)
  (:predicates (on ?l - lamp) (in ?l - lamp ?r - room) (dark ?r - room) (swapped))
  (:action all_on :parameters (?r - room)
    :precondition (exists (?l - lamp) (and (in ?l ?r) (not (on ?l))))
    :effect (and (forall (?l - lamp) (when (in ?l ?r) (on ?l))) (not (dark ?r))))
  (:action toggle :parameters (?l - lamp)
    :effect (and (when (on ?l) (not (on ?l))) (when (not (on ?l)) (on ?l))))
  (:action flicker :parameters (?l - lamp)
    :precondition (imply (on ?l) (swapped))
    :effect (and (not (on ?l)) (on ?l))))";

const LAMPS_P: &str = "(define (problem p) (:domain lamps)
  (:objects a b c - lamp kitchen hall - room)
  (:init (in a kitchen) (in b kitchen) (in c hall) (on a) (dark kitchen) (dark hall))
  (:goal (and (on a) (on b) (not (dark kitchen)))))";

#[test]
fn conditional_effects_read_the_state_before_the_action() {
    let t = task(LAMPS, LAMPS_P);
    let toggle_a = t.find_action("toggle", &["a"]).expect("grounded");
    let s = t.apply(toggle_a, &t.init);
    // on(a) held before: only the first `when` fires, so a is off (not toggled twice).
    assert!(!holds(&t, &s, "on", &["a"]));
    let s = t.apply(toggle_a, &s);
    assert!(holds(&t, &s, "on", &["a"]));
}

#[test]
fn forall_effects_and_exists_preconditions() {
    let t = task(LAMPS, LAMPS_P);
    let kitchen = t.find_action("all_on", &["kitchen"]).expect("grounded");
    assert!(t.applicable(kitchen, &t.init), "b is off in the kitchen");
    let s = t.apply(kitchen, &t.init);
    assert!(holds(&t, &s, "on", &["a"]) && holds(&t, &s, "on", &["b"]));
    assert!(!holds(&t, &s, "on", &["c"]), "c is in the hall");
    assert!(!holds(&t, &s, "dark", &["kitchen"]));
    assert!(
        !t.applicable(kitchen, &s),
        "no lamp of the kitchen is off any more"
    );
    assert!(t.goal.holds(&s));
}

#[test]
fn an_atom_added_and_deleted_ends_up_true_and_imply_is_material() {
    let t = task(LAMPS, LAMPS_P);
    let flicker_a = t.find_action("flicker", &["a"]).expect("grounded");
    let flicker_b = t.find_action("flicker", &["b"]).expect("grounded");
    assert!(!t.applicable(flicker_a, &t.init), "on(a) and not swapped");
    assert!(
        t.applicable(flicker_b, &t.init),
        "b is off: the implication holds"
    );
    let s = t.apply(flicker_b, &t.init);
    assert!(holds(&t, &s, "on", &["b"]));
}

#[test]
fn derived_predicates_are_closed_after_every_action() {
    let d = "(define (domain tower) (:requirements :derived-predicates :equality)
      (:predicates (on ?x ?y) (above ?x ?y) (clear ?x))
      (:derived (above ?x ?y) (or (on ?x ?y) (exists (?z) (and (on ?x ?z) (above ?z ?y)))))
      (:action stack :parameters (?x ?y)
        :precondition (and (clear ?x) (clear ?y) (not (= ?x ?y)) (not (above ?y ?x)))
        :effect (and (on ?x ?y) (not (clear ?y)))))";
    let p = "(define (problem p) (:domain tower) (:objects a b c)
      (:init (clear a) (clear b) (clear c) (on b c))
      (:goal (above a c)))";
    let t = task(d, p);
    assert!(holds(&t, &t.init, "above", &["b", "c"]));
    assert!(
        t.find_action("stack", &["a", "a"]).is_none(),
        "equality folds away x = y"
    );
    let found = plan(&t, &Limits::default()).expect("a plan");
    let mut s = t.init.clone();
    for a in &found.actions {
        assert!(t.applicable(*a, &s));
        s = t.apply(*a, &s);
    }
    assert!(
        holds(&t, &s, "above", &["a", "c"]),
        "transitive: a on b above c"
    );
    assert_eq!(found.actions.len(), 1);
    assert_eq!(t.action_text(found.actions[0]), "(stack a b)");
}

#[test]
fn search_finds_plans_and_reports_unsolvable_tasks() {
    let t = task(LAMPS, LAMPS_P);
    let p = plan(&t, &Limits::default()).expect("a plan");
    let mut s = t.init.clone();
    for a in &p.actions {
        assert!(t.applicable(*a, &s), "{} applicable", t.action_text(*a));
        s = t.apply(*a, &s);
    }
    assert!(t.goal.holds(&s));
    let none = LAMPS_P.replace("(not (dark kitchen))", "(in c kitchen)");
    let t = task(LAMPS, &none);
    assert_eq!(plan(&t, &Limits::default()), Err(SearchError::Unsolvable));
}

/// A task whose search space is large: n lamps, each toggled freely, goal all on but one
/// action that makes it impossible to finish quickly.
fn big_task() -> Task {
    let n = 18;
    let lamps: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
    let d = "(define (domain many) (:predicates (on ?l) (lamp ?l) (never))
      (:action toggle :parameters (?l) :precondition (lamp ?l)
        :effect (and (when (on ?l) (not (on ?l))) (when (not (on ?l)) (on ?l)))))";
    let p = format!(
        "(define (problem p) (:domain many) (:objects {}) (:init {}) (:goal (and (never) (on l0))))",
        lamps.join(" "),
        lamps.iter().map(|l| format!("(lamp {l})")).collect::<String>()
    );
    task(d, &p)
}

#[test]
fn limits_stop_the_search() {
    let t = big_task();
    // The goal needs `never`, which nothing adds: a dead end the relaxation sees at once.
    assert_eq!(plan(&t, &Limits::default()), Err(SearchError::Unsolvable));

    let t = endless_task();
    let past = Limits {
        deadline: Some(Instant::now()),
        ..Limits::default()
    };
    assert_eq!(plan(&t, &past), Err(SearchError::Timeout));
    let cancelled = Limits {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..Limits::default()
    };
    assert_eq!(plan(&t, &cancelled), Err(SearchError::Cancelled));
    let small = Limits {
        memory_bytes: 64 << 10,
        ..Limits::default()
    };
    assert_eq!(plan(&t, &small), Err(SearchError::OutOfMemory));
}

#[test]
fn grounding_honours_its_limits() {
    // 5 parameters over 30 objects with no static filter: 24 million bindings.
    let d = "(define (domain wide) (:predicates (p ?a ?b ?c ?d ?e) (q))
      (:action a :parameters (?a ?b ?c ?d ?e) :precondition (q) :effect (p ?a ?b ?c ?d ?e)))";
    let objs: Vec<String> = (0..30).map(|i| format!("o{i}")).collect();
    let p = format!(
        "(define (problem p) (:domain wide) (:objects {}) (:init (q)) (:goal (q)))",
        objs.join(" ")
    );
    let d = parse_domain(d).expect("domain");
    let p = parse_problem(&d, &p).expect("problem");
    let small = Limits {
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    assert_eq!(
        Task::ground_within(&d, &p, &small).err(),
        Some(clea_domain::GroundError::Limit(SearchError::OutOfMemory))
    );
    let past = Limits {
        deadline: Some(Instant::now()),
        ..Limits::default()
    };
    assert_eq!(
        Task::ground_within(&d, &p, &past).err(),
        Some(clea_domain::GroundError::Limit(SearchError::Timeout))
    );
}

/// Twenty lamps, all to be switched on and `l0` also off: contradictory, but the relaxation
/// cannot tell, so the search explores a million states (minutes) before it gives up.
fn endless_task() -> Task {
    let d = "(define (domain many) (:predicates (on ?l) (lamp ?l))
      (:action toggle :parameters (?l) :precondition (lamp ?l)
        :effect (and (when (on ?l) (not (on ?l))) (when (not (on ?l)) (on ?l)))))";
    let lamps: Vec<String> = (0..20).map(|i| format!("l{i}")).collect();
    let p = format!(
        "(define (problem p) (:domain many) (:objects {}) (:init {}) (:goal (and (on l0) (not (on l0)) {})))",
        lamps.join(" "),
        lamps.iter().map(|l| format!("(lamp {l})")).collect::<String>(),
        lamps.iter().map(|l| format!("(on {l})")).collect::<String>()
    );
    task(d, &p)
}

#[test]
fn a_long_search_stops_within_100_ms_of_its_deadline_or_cancellation() {
    let t = endless_task();
    let deadline = Instant::now() + Duration::from_millis(300);
    let limits = Limits {
        deadline: Some(deadline),
        ..Limits::default()
    };
    assert_eq!(plan(&t, &limits), Err(SearchError::Timeout));
    let late = Instant::now().saturating_duration_since(deadline);
    assert!(
        late < Duration::from_millis(100),
        "stopped {late:?} after its deadline"
    );

    // Cancelled from another thread (a module timeout, Ctrl-C) while it runs.
    let cancel = Arc::new(AtomicBool::new(false));
    let limits = Limits {
        cancel: Some(cancel.clone()),
        ..Limits::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let search = std::thread::spawn(move || {
        let r = plan(&t, &limits);
        tx.send(Instant::now()).expect("main thread waits");
        r
    });
    // Give the search time to get deep into its state space, then cancel it.
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the search ended by itself before it was cancelled"
    );
    let cancelled_at = Instant::now();
    cancel.store(true, Ordering::Relaxed);
    let stopped_at = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the search stops when cancelled");
    assert_eq!(
        search.join().expect("search thread"),
        Err(SearchError::Cancelled)
    );
    let late = stopped_at.saturating_duration_since(cancelled_at);
    assert!(
        late < Duration::from_millis(100),
        "stopped {late:?} after it was cancelled"
    );
}

#[test]
fn anytime_improvement_keeps_a_valid_plan_never_longer_than_the_first() {
    let d = "(define (domain gripper) (:requirements :typing)
      (:types room ball gripper)
      (:predicates (at-robby ?r - room) (at ?b - ball ?r - room) (free ?g - gripper)
                   (carry ?b - ball ?g - gripper))
      (:action move :parameters (?from ?to - room)
        :precondition (at-robby ?from) :effect (and (at-robby ?to) (not (at-robby ?from))))
      (:action pick :parameters (?b - ball ?r - room ?g - gripper)
        :precondition (and (at ?b ?r) (at-robby ?r) (free ?g))
        :effect (and (carry ?b ?g) (not (at ?b ?r)) (not (free ?g))))
      (:action drop :parameters (?b - ball ?r - room ?g - gripper)
        :precondition (and (carry ?b ?g) (at-robby ?r))
        :effect (and (at ?b ?r) (free ?g) (not (carry ?b ?g)))))";
    let p = "(define (problem g6) (:domain gripper)
      (:objects a b - room left right - gripper b1 b2 b3 b4 b5 b6 - ball)
      (:init (at-robby a) (free left) (free right)
             (at b1 a) (at b2 a) (at b3 a) (at b4 a) (at b5 a) (at b6 a))
      (:goal (and (at b1 b) (at b2 b) (at b3 b) (at b4 b) (at b5 b) (at b6 b))))";
    let t = task(d, p);
    let first = plan(&t, &Limits::default()).expect("a plan");
    let limits = Limits {
        deadline: Some(Instant::now() + Duration::from_secs(20)),
        ..Limits::default()
    };
    let better = clea_domain::search::improve(&t, &t.init, &t.goal, first.clone(), &limits);
    assert!(better.actions.len() <= first.actions.len());
    let mut s = t.init.clone();
    for a in &better.actions {
        assert!(t.applicable(*a, &s), "{} applicable", t.action_text(*a));
        s = t.apply(*a, &s);
    }
    assert!(t.goal.holds(&s));
    // Six balls, two grippers: three round trips of pick, pick, move, drop, drop, move back
    // (the last without the move back) is 17 actions; the weight-1 search finds it.
    assert_eq!(
        better.actions.len(),
        17,
        "first plan {}",
        first.actions.len()
    );
}

#[test]
fn the_robot_that_makes_the_plan_shortest_does_the_work() {
    // Two mobile robots at the shelf; one has two hands. Two cups go to the far table: the
    // two-handed robot does it in one trip (pick, pick, go, place, place: 5 actions), where
    // the one-handed robot alone would need two trips (7), and both together need 6.
    let d = "(define (domain hands) (:requirements :typing)
      (:types robot hand place cup)
      (:predicates (at ?r - robot ?p - place) (on ?c - cup ?p - place) (of ?h - hand ?r - robot)
                   (free ?h - hand) (holds ?h - hand ?c - cup))
      (:action go :parameters (?r - robot ?from ?to - place)
        :precondition (at ?r ?from) :effect (and (at ?r ?to) (not (at ?r ?from))))
      (:action pick :parameters (?r - robot ?h - hand ?c - cup ?p - place)
        :precondition (and (of ?h ?r) (free ?h) (at ?r ?p) (on ?c ?p))
        :effect (and (holds ?h ?c) (not (free ?h)) (not (on ?c ?p))))
      (:action place :parameters (?r - robot ?h - hand ?c - cup ?p - place)
        :precondition (and (of ?h ?r) (holds ?h ?c) (at ?r ?p))
        :effect (and (on ?c ?p) (free ?h) (not (holds ?h ?c)))))";
    let p = "(define (problem two-cups) (:domain hands)
      (:objects one two - robot h1 h2a h2b - hand shelf table - place c1 c2 - cup)
      (:init (at one shelf) (at two shelf) (of h1 one) (of h2a two) (of h2b two)
             (free h1) (free h2a) (free h2b) (on c1 shelf) (on c2 shelf))
      (:goal (and (on c1 table) (on c2 table))))";
    let t = task(d, p);
    let first = plan(&t, &Limits::default()).expect("a plan");
    let limits = Limits {
        deadline: Some(Instant::now() + Duration::from_secs(20)),
        ..Limits::default()
    };
    let best = clea_domain::search::improve(&t, &t.init, &t.goal, first, &limits);
    let text: Vec<String> = best.actions.iter().map(|a| t.action_text(*a)).collect();
    assert_eq!(best.actions.len(), 5, "{text:?}");
    assert!(text.iter().all(|a| a.contains(" two ")), "{text:?}");
}

/// EAI VirtualHome's switches, cut down: `switch_on` needs `off`, `switch_off` needs `on`, and
/// the problem lists neither for the computer.
const SWITCHES: &str = "(define (domain switches) (:requirements :typing)
  (:types thing)
  (:predicates (has_switch ?t - thing) (on ?t - thing) (off ?t - thing))
  (:action switch_on :parameters (?t - thing) :precondition (and (has_switch ?t) (off ?t))
    :effect (and (on ?t) (not (off ?t))))
  (:action switch_off :parameters (?t - thing) :precondition (and (has_switch ?t) (on ?t))
    :effect (and (off ?t) (not (on ?t)))))";

#[test]
fn open_grounding_keeps_what_the_initial_fluents_would_prune() {
    let d = parse_domain(SWITCHES).expect("domain");
    let p = parse_problem(
        &d,
        "(define (problem p) (:domain switches) (:objects computer cup - thing)
           (:init (has_switch computer)) (:goal (and)))",
    )
    .expect("problem");
    // From the problem's initial state nothing can ever switch: both actions are pruned.
    let t = Task::ground(&d, &p).expect("grounds");
    assert_eq!(t.find_action("switch_on", &["computer"]), None);
    // Not knowing the initial fluents, both stay; static facts still prune (the cup).
    let open = Task::ground_open(&d, &p, &Limits::default()).expect("grounds");
    let on = open.find_action("switch_on", &["computer"]).expect("kept");
    assert!(open.find_action("switch_off", &["computer"]).is_some());
    assert_eq!(open.find_action("switch_on", &["cup"]), None);
    // The semantics are the same: from the (guessed) initial state it is not applicable.
    assert!(!open.applicable(on, &open.init));
}
