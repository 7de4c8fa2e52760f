//! Complement atoms: "fact `a` is false" as an atom of its own, so a state can leave a fact
//! open.
//!
//! A two-valued state must give every fact a value, so a belief that does not know whether the
//! glass is inside the closed cupboard has to choose: assumed inside (the glass cannot be
//! grabbed) or assumed not (it cannot be dropped where it is). [`Task::complemented`] compiles
//! the task the standard way negative preconditions are compiled away (Gazen & Knoblock 1997):
//! every fluent atom that some precondition, effect condition, axiom body or the goal reads
//! negatively gets a complement atom, every negative literal of it reads the complement, and
//! every action that adds the atom deletes its complement and the other way round. A state in
//! which both an atom and its complement hold says "either": each literal of it is satisfiable,
//! which is the optimistic reading a planner under partial observability wants (the belief's
//! open facts, `clea-agent`'s `Belief`); an action that sets the atom decides it. A state in
//! which neither holds satisfies neither literal (what the goal asks for is never assumed).
//!
//! Derived atoms get no complement: axioms are evaluated on the state as they are, so a
//! negative literal of a derived atom reads the derived value (pessimistic where the axiom's
//! body is left open).

use crate::ground::{AtomId, Cond, Task};
use crate::state::State;

impl Task {
    /// This task with complement atoms (see the module docs). Its first `self.atoms.len()` atoms
    /// and its actions are this task's, in the same order (a plan of one is a plan of the
    /// other); the complement atoms follow, each with its atom's predicate and arguments in
    /// [`Task::atoms`] and printed as `(not (p a))` by [`Task::atom_text`]. The initial state
    /// is this one's, with each complement the negation of its atom.
    pub fn complemented(&self) -> Task {
        let n = self.atoms.len();
        let mut negative = vec![false; n];
        let mut mark = |c: &Cond| mark_negative(c, &mut negative);
        for a in &self.actions {
            mark(&a.pre);
            a.effects.iter().for_each(|e| mark(&e.cond));
        }
        self.axioms.iter().for_each(|ax| mark(&ax.body));
        mark(&self.goal);
        let mut t = self.clone();
        t.complement = vec![None; n];
        t.negates = vec![None; n];
        for (a, read_negatively) in negative.iter().enumerate() {
            if *read_negatively && !self.derived[a] {
                let c = t.atoms.len() as AtomId;
                t.atoms.push(self.atoms[a].clone());
                t.derived.push(false);
                t.complement[a] = Some(c);
                t.complement.push(None);
                t.negates.push(Some(a as AtomId));
            }
        }
        let comp = t.complement.clone();
        let rewrite = |c: &Cond| positive_form(c, &comp);
        for a in &mut t.actions {
            a.pre = rewrite(&a.pre);
            for e in &mut a.effects {
                e.cond = rewrite(&e.cond);
                let adds: Vec<AtomId> = e.del.iter().filter_map(|d| comp[*d as usize]).collect();
                let dels: Vec<AtomId> = e.add.iter().filter_map(|d| comp[*d as usize]).collect();
                e.add.extend(adds);
                e.del.extend(dels);
            }
        }
        for ax in &mut t.axioms {
            ax.body = rewrite(&ax.body);
        }
        t.goal = rewrite(&self.goal);
        t.init = t.with_complements(&self.init);
        t
    }

    /// The complement atom of atom `a`, where [`Task::complemented`] made one.
    pub fn complement(&self, a: AtomId) -> Option<AtomId> {
        self.complement.get(a as usize).copied().flatten()
    }

    /// The atom that complement atom `c` negates (`None` for every other atom).
    pub fn negated(&self, c: AtomId) -> Option<AtomId> {
        self.negates.get(c as usize).copied().flatten()
    }

    /// A condition of the task this one was complemented from, in this task's atoms (its
    /// negative literals read complements).
    pub fn positive_form(&self, c: &Cond) -> Cond {
        positive_form(c, &self.complement)
    }

    /// A two-valued state of the task this one was complemented from, with each complement the
    /// negation of its atom and derived atoms evaluated.
    pub fn with_complements(&self, s: &State) -> State {
        let mut out = s.clone();
        for (a, c) in self.complement.iter().enumerate() {
            if let Some(c) = c {
                out.set(*c, !s.get(a as AtomId));
            }
        }
        self.close(&mut out);
        out
    }
}

fn mark_negative(c: &Cond, out: &mut [bool]) {
    match c {
        Cond::Lit(a, false) => out[*a as usize] = true,
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| mark_negative(c, out)),
        _ => {}
    }
}

fn positive_form(c: &Cond, comp: &[Option<AtomId>]) -> Cond {
    match c {
        Cond::Lit(a, false) => match comp.get(*a as usize).copied().flatten() {
            Some(x) => Cond::Lit(x, true),
            None => c.clone(),
        },
        Cond::And(v) => Cond::And(v.iter().map(|c| positive_form(c, comp)).collect()),
        Cond::Or(v) => Cond::Or(v.iter().map(|c| positive_form(c, comp)).collect()),
        c => c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_domain, parse_problem, Task};

    /// EAI VirtualHome's `grab`, cut down: a thing inside a closed container cannot be grabbed,
    /// and `drop` needs to know where it is.
    fn task() -> Task {
        let d = parse_domain(
            r#"(define (domain g) (:requirements :typing :negative-preconditions
                  :existential-preconditions)
                (:predicates (inside ?o ?c) (closed ?c) (held ?o))
                (:action grab :parameters (?o)
                  :precondition (not (exists (?c) (and (inside ?o ?c) (closed ?c))))
                  :effect (held ?o))
                (:action drop :parameters (?o ?c)
                  :precondition (and (held ?o) (inside ?o ?c))
                  :effect (not (held ?o)))
                (:action put_inside :parameters (?o ?c) :precondition (held ?o)
                  :effect (and (inside ?o ?c) (not (held ?o))))
                (:action open :parameters (?c) :precondition (closed ?c)
                  :effect (not (closed ?c))))"#,
        )
        .unwrap();
        let p = parse_problem(
            &d,
            "(define (problem p) (:domain g) (:objects glass cupboard)
               (:init (inside glass cupboard) (closed cupboard))
               (:goal (and (held glass) (not (closed cupboard)))))",
        )
        .unwrap();
        Task::ground(&d, &p).unwrap()
    }

    #[test]
    fn a_state_with_both_an_atom_and_its_complement_satisfies_either_literal() {
        let t = task();
        let c = t.complemented();
        let inside = t.atom_id("inside", &["glass", "cupboard"]).unwrap();
        let closed = t.atom_id("closed", &["cupboard"]).unwrap();
        let grab = t.find_action("grab", &["glass"]).unwrap();
        let drop = t.find_action("drop", &["glass", "cupboard"]).unwrap();
        // Two-valued: inside and closed, so no grab.
        assert!(!t.applicable(grab, &t.init));
        assert!(!c.applicable(grab, &c.init));
        // Open: inside and closed may both be either way.
        let mut open = c.init.clone();
        for a in [inside, closed] {
            open.set(c.complement(a).unwrap(), true);
        }
        assert!(c.applicable(grab, &open));
        let held = c.apply(grab, &open);
        assert!(c.applicable(drop, &held), "inside is still open");
        assert_eq!(
            c.atom_text(c.complement(closed).unwrap()),
            "(not (closed cupboard))"
        );
        assert_eq!(c.negated(c.complement(closed).unwrap()), Some(closed));
    }

    #[test]
    fn an_action_decides_what_it_sets_and_plans_carry_over() {
        let t = task();
        let c = t.complemented();
        let closed = t.atom_id("closed", &["cupboard"]).unwrap();
        let not_closed = c.complement(closed).unwrap();
        let open = t.find_action("open", &["cupboard"]).unwrap();
        let after = c.apply(open, &c.init);
        assert!(!after.get(closed) && after.get(not_closed));
        // The same plan solves both, with the same action indices.
        let plan = crate::search::plan(&c, &Default::default()).unwrap();
        let mut s = t.init.clone();
        for a in &plan.actions {
            assert!(t.applicable(*a, &s));
            s = t.apply(*a, &s);
        }
        assert!(t.goal.holds(&s));
        assert_eq!(c.with_complements(&t.init), c.init);
    }
}
