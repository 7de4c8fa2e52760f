//! The CLEA kitchen as data (`sim/domains/clea-kitchen/domain.pddl`) has the same semantics as
//! the simulator's world model: on every shipped scenario, along its reference plan and along
//! seeded random walks, both agree on which of all possible skill calls apply, and on the state
//! after each step (the world's own dynamics, the oven roasting, included).

use clea_bus::msg::WorldVocabulary;
use clea_domain::binding::Binding;
use clea_domain::call::{unmet_precondition, validate_positional};
use clea_domain::{parse_problem, read_bound_domain, BoundDomain, State, Task};
use clea_sim::scenario::{load_path, Scenario};
use clea_sim::world::SimWorld;
use clea_skills::{parse_call, validate, Check, Goal, Location, WorldState};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The kitchen's domain and skill binding, checked.
fn kitchen() -> BoundDomain {
    read_bound_domain(&root().join("domains/clea-kitchen/binding.yaml"))
        .expect("kitchen domain and binding")
}

/// The scenario's world and initial state as a PDDL problem of the kitchen domain.
fn problem_text(s: &Scenario, state: &WorldState) -> String {
    let w: &WorldVocabulary = &s.world;
    let mut objects = String::new();
    let mut init = Vec::new();
    for r in &w.robots {
        objects += &format!(" {} - robot", r.name);
        if r.mobile {
            init.push(format!("(mobile {})", r.name));
        }
        if r.arms > 0 && r.carry > 0 {
            init.push(format!("(manipulates {})", r.name));
        }
        for x in &r.reach {
            init.push(format!("(in_reach {} {x})", r.name));
        }
        if state.held_by(&r.name).is_empty() {
            init.push(format!("(hand_free {})", r.name));
        }
    }
    for p in &w.navigation_points {
        objects += &format!(" {p} - navigation_point");
    }
    for x in &w.receptacles {
        objects += &format!(" {} - receptacle", x.name);
        if let Some(p) = &x.near {
            init.push(format!("(near {} {p})", x.name));
        }
        if x.openable {
            init.push(format!("(openable {})", x.name));
        }
        if x.heats {
            init.push(format!("(heats {})", x.name));
        }
    }
    for o in &w.objects {
        objects += &format!(" {o} - item");
    }
    init.extend(atoms_of(state));
    let goal: Vec<String> = s
        .goals
        .iter()
        .filter_map(|g| match g {
            Goal::At {
                object, receptacle, ..
            } => Some(format!("(in {object} {receptacle})")),
            Goal::Roasted { object } => Some(format!("(roasted {object})")),
            Goal::Found { .. } => None,
        })
        .collect();
    format!(
        "(define (problem {}) (:domain clea-kitchen) (:objects{objects}) (:init {}) (:goal (and {})))",
        s.name,
        init.join(" "),
        goal.join(" ")
    )
}

/// The fluent atoms of a simulator state, in PDDL notation.
fn atoms_of(state: &WorldState) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (r, p) in &state.robot_place {
        out.insert(format!("(at {r} {p})"));
    }
    for (x, open) in &state.open {
        if *open {
            out.insert(format!("(open {x})"));
        }
    }
    for (o, l) in &state.location {
        match l {
            Location::In(x) => out.insert(format!("(in {o} {x})")),
            Location::HeldBy(r) => out.insert(format!("(holding {r} {o})")),
            Location::Removed => false,
        };
    }
    for o in &state.roasted {
        out.insert(format!("(roasted {o})"));
    }
    out
}

/// The same fluent atoms of a PDDL state (derived and static atoms left out; hand_free compared
/// separately).
fn pddl_atoms(t: &Task, s: &State) -> BTreeSet<String> {
    s.atoms()
        .filter(|a| !t.derived[*a as usize])
        .map(|a| t.atom_text(a))
        .filter(|a| !a.starts_with("(hand_free"))
        .collect()
}

/// Every call the domain's schemas allow over the problem's objects (the world's dynamics left out).
fn all_calls(t: &Task) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for schema in t.domain.actions.iter().filter(|a| a.name != "roast") {
        let mut tuples: Vec<Vec<String>> = vec![vec![]];
        for p in &schema.params {
            let objs: Vec<&String> = t
                .objects
                .iter()
                .zip(&t.object_types)
                .filter(|(_, ty)| t.domain.fits(**ty, &p.types))
                .map(|(o, _)| o)
                .collect();
            tuples = tuples
                .into_iter()
                .flat_map(|tu| {
                    objs.iter().map(move |o| {
                        let mut x = tu.clone();
                        x.push((*o).clone());
                        x
                    })
                })
                .collect();
        }
        out.extend(tuples.into_iter().map(|a| (schema.name.clone(), a)));
    }
    out
}

struct Pair<'a> {
    task: &'a Task,
    binding: &'a Binding,
    vocab: &'a WorldVocabulary,
    sim: WorldState,
    pddl: State,
}

impl Pair<'_> {
    /// Whether the simulator accepts and can execute the call, and whether the domain can.
    fn applies(&self, name: &str, args: &[String]) -> (bool, bool) {
        let text = format!("{name}({})", args.join(", "));
        let sim = parse_call(&text)
            .ok()
            .and_then(|c| validate(&c, self.vocab).ok())
            .is_some_and(|a| self.sim.check(self.vocab, &a) == Check::Holds);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let pddl = self
            .task
            .find_action(name, &refs)
            .is_some_and(|a| self.task.applicable(a, &self.pddl));
        // The critic's rule check over the lifted precondition says the same as the grounded one.
        let call = validate_positional(self.task, self.binding, name, &refs).expect("well-typed");
        let unmet = unmet_precondition(self.task, &self.pddl, &call);
        assert_eq!(unmet.is_none(), pddl, "{text}: critic says {unmet:?}");
        (sim, pddl)
    }

    fn step(&mut self, name: &str, args: &[String], at: &str) {
        let text = format!("{name}({})", args.join(", "));
        let action = validate(&parse_call(&text).expect("term"), self.vocab).expect("valid");
        self.sim.apply(&action);
        self.sim.settle(self.vocab);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let a = self.task.find_action(name, &refs).expect("grounded");
        self.pddl = self
            .task
            .settle(&self.binding.dynamics, self.task.apply(a, &self.pddl));
        assert_eq!(
            atoms_of(&self.sim),
            pddl_atoms(self.task, &self.pddl),
            "{at}: after {text}"
        );
    }

    fn agree_on_every_call(&self, calls: &[(String, Vec<String>)], at: &str) -> Vec<usize> {
        let mut ok = Vec::new();
        for (i, (name, args)) in calls.iter().enumerate() {
            let (sim, pddl) = self.applies(name, args);
            assert_eq!(
                sim,
                pddl,
                "{at}: {name}({}) sim {sim}, domain {pddl}",
                args.join(", ")
            );
            if sim {
                ok.push(i);
            }
        }
        ok
    }
}

#[test]
fn the_kitchen_domain_agrees_with_the_simulator_on_every_scenario() {
    let bound = kitchen();
    let domain = &bound.domain;
    let scenarios = load_path(&root().join("scenarios/clea-kitchen")).expect("scenarios");
    assert!(scenarios.len() >= 26);
    for s in &scenarios {
        let start = SimWorld::new(s, 0).state().clone();
        let problem = parse_problem(domain, &problem_text(s, &start))
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let task = Task::ground(domain, &problem).expect("grounds");
        let calls = all_calls(&task);
        let fresh = || Pair {
            task: &task,
            binding: &bound.binding,
            vocab: &s.world,
            sim: start.clone(),
            pddl: task.init.clone(),
        };
        // The reference plan, step by step.
        let mut pair = fresh();
        for (k, action) in s.reference_plan.iter().flatten().enumerate() {
            let at = format!("{} reference step {k}", s.name);
            pair.agree_on_every_call(&calls, &at);
            let call = action.to_call();
            let args: Vec<String> = action.args().iter().map(|a| a.to_string()).collect();
            let (sim, pddl) = pair.applies(&call.skill, &args);
            assert_eq!(sim, pddl, "{at}: {action}");
            if !sim {
                break; // a perturbed scenario's plan may fail here in both models
            }
            pair.step(&call.skill, &args, &at);
        }
        if !s.is_perturbed() {
            assert!(
                task.goal.holds(&pair.pddl),
                "{}: the reference plan reaches the goal",
                s.name
            );
        }
        // Seeded random walks over all applicable calls.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for walk in 0..3 {
            let mut pair = fresh();
            for k in 0..25 {
                let at = format!("{} walk {walk} step {k}", s.name);
                let ok = pair.agree_on_every_call(&calls, &at);
                if ok.is_empty() {
                    break;
                }
                let (name, args) = &calls[ok[rng.gen_range(0..ok.len())]];
                pair.step(name, args, &at);
            }
        }
    }
}

#[test]
fn the_embedded_planner_solves_every_unperturbed_kitchen_task() {
    let bound = kitchen();
    let domain = &bound.domain;
    for s in load_path(&root().join("scenarios/clea-kitchen")).expect("scenarios") {
        if s.goals.iter().any(|g| matches!(g, Goal::Found { .. })) {
            continue; // search tasks are about the agent's belief
        }
        let start = SimWorld::new(&s, 0).state().clone();
        let problem = parse_problem(domain, &problem_text(&s, &start)).expect("problem");
        let task = Task::ground(domain, &problem).expect("grounds");
        let plan = clea_domain::search::plan(&task, &Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let mut st = task.init.clone();
        for a in &plan.actions {
            assert!(task.applicable(*a, &st));
            st = task.apply(*a, &st);
        }
        assert!(task.goal.holds(&st), "{}", s.name);
    }
}
