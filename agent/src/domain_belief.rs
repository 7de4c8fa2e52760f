//! The domain agent's belief (POMDP sense) over a loaded domain: which facts it knows and their
//! values, with optimistic assumptions for the rest, so the planner can plan on a belief that
//! leaves things open (where an unseen item is, whether a far cupboard is open).
//!
//! - Full observability: the belief starts as the problem's initial state, every fact known.
//! - Partial observability: it starts empty; facts become known when a robot perceives them
//!   (the binding's observation model, [`clea_domain::binding::perceived`]) or when an executed
//!   skill's predicted effect sets them.
//!
//! The planner and the critic work on [`Belief::view`] of the task's complemented form
//! ([`Task::complemented`]: "`a` is false" is an atom of its own, so a fact can be left open):
//! known facts as they are; an unknown fact is open, satisfying both its literals (assumed
//! whichever way helps: the unseen glass may be grabbed, and dropped where it may be), except
//! that
//! - the positive side is assumed only where a precondition or an axiom reads it positively,
//! - what the goal asks for is never assumed (the plan must make it so, or see it), and
//! - a fact `p(a, ...)` is not assumed while another `p(a, ...)` is known to hold (a thing is
//!   in one place, a robot at one point).
//!
//! The plan therefore goes to look at the cheapest place the assumptions allow; the
//! observation there confirms or refutes them, and a refuted assumption makes the next plan
//! look elsewhere. A failed call refutes the one open literal its precondition required
//! ([`Belief::refute_assumption`]) or, failing that, stops assuming the one open literal of
//! each of its disjunctions that nothing known satisfies ([`Belief::doubt_assumptions`]: the
//! glass that cannot be grabbed is looked for in the closed cupboard beside it). Whether a goal holds is judged on known facts only
//! ([`Belief::holds_known`]).

use clea_domain::required::is_step_predicate;
use clea_domain::{AtomId, Cond, State, Task};

/// What the agent knows about the world.
#[derive(Debug, Clone)]
pub struct Belief {
    values: State,
    known: Vec<bool>,
    /// Unknown facts that may be assumed to hold (read positively somewhere).
    assumable: Vec<bool>,
    /// Unknown facts that may be assumed not to hold (the goal does not ask for that).
    refutable: Vec<bool>,
}

impl Belief {
    /// Everything known: the problem's initial state.
    pub fn full(task: &Task) -> Belief {
        Belief {
            values: task.init.clone(),
            known: vec![true; task.atoms.len()],
            assumable: vec![false; task.atoms.len()],
            refutable: vec![false; task.atoms.len()],
        }
    }

    /// Nothing known yet but what the task's structure fixes (derived facts are computed).
    pub fn partial(task: &Task) -> Belief {
        let n = task.atoms.len();
        let mut assumable = vec![false; n];
        let mut positive = |c: &Cond| mark_positive(c, &mut assumable);
        for a in &task.actions {
            positive(&a.pre);
            for e in &a.effects {
                positive(&e.cond);
            }
        }
        for ax in &task.axioms {
            positive(&ax.body);
        }
        // What the task asks for is never assumed: the plan must make it so (or see it).
        let mut refutable = vec![true; n];
        let mut goal = Vec::new();
        goal_literals(&task.goal, &mut goal);
        for (a, v) in goal {
            if v {
                assumable[a as usize] = false;
            } else {
                refutable[a as usize] = false;
            }
        }
        // The task's own bookkeeping (which required actions are done) is known from the
        // start: no robot perceives it, and assuming it would count an action never taken.
        let mut known = task.derived.clone();
        let mut values = State::with_atoms(n, &[]);
        for (i, k) in known.iter_mut().enumerate() {
            if bookkeeping(task, i) {
                *k = true;
                values.set(i as AtomId, task.init.get(i as AtomId));
            }
        }
        Belief {
            values,
            known,
            assumable,
            refutable,
        }
    }

    /// Whether every fact is known (full observability, or nothing left open).
    pub fn is_full(&self) -> bool {
        self.known.iter().all(|k| *k)
    }

    /// Facts perceived now: known, with these values.
    pub fn observe(&mut self, facts: &[(AtomId, bool)]) {
        for (a, v) in facts {
            self.values.set(*a, *v);
            self.known[*a as usize] = true;
        }
    }

    /// Forget every fact not in `keep` (a search found nothing: things may have moved into
    /// places already searched), so the next plans look again.
    pub fn forget_all_but(&mut self, task: &Task, keep: &[(AtomId, bool)]) {
        for (i, k) in self.known.iter_mut().enumerate() {
            // Derived facts are computed, and the bookkeeping is the agent's own record.
            *k = task.derived[i] || bookkeeping(task, i);
        }
        self.observe(keep);
    }

    /// The state the planner and the critic use, on `task`: the belief's task or its
    /// [`Task::complemented`] form (the same first atoms). Known facts as they are; each unknown
    /// fact assumed as the module docs say (on the complemented form both its atom and its
    /// complement may hold: open); derived facts evaluated.
    pub fn view(&self, task: &Task) -> State {
        let n = self.known.len();
        let mut s = self.values.clone();
        for (i, known) in self.known.iter().enumerate() {
            if let (Some(c), true) = (task.complement(i as AtomId), known) {
                s.set(c, !self.values.get(i as AtomId));
            }
        }
        if !self.is_full() {
            // (predicate, first argument) of every known fact that holds with two or more
            // arguments: such a fact excludes assuming its siblings.
            let taken: std::collections::HashSet<(usize, u32)> = (0..n)
                .filter(|i| self.known[*i] && self.values.get(*i as AtomId))
                .filter_map(|i| {
                    let ga = &task.atoms[i];
                    (ga.args.len() >= 2).then(|| (ga.pred, ga.args[0]))
                })
                .collect();
            for i in 0..n {
                if self.known[i] {
                    continue;
                }
                let ga = &task.atoms[i];
                let excluded = ga.args.len() >= 2 && taken.contains(&(ga.pred, ga.args[0]));
                s.set(i as AtomId, self.assumable[i] && !excluded);
                if let Some(c) = task.complement(i as AtomId) {
                    s.set(c, self.refutable[i] || excluded);
                }
            }
        }
        task.close(&mut s);
        s
    }

    /// Record the predicted successor of a view on `task` (as [`Belief::view`]'s): every fact
    /// whose atom or complement it changes (an executed skill's effects, the world's dynamics)
    /// becomes known with its new value.
    pub fn predict(&mut self, task: &Task, before: &State, after: &State) {
        for i in 0..self.known.len() {
            let a = i as AtomId;
            let changed = |x: AtomId| before.get(x) != after.get(x);
            if !task.derived[i] && (changed(a) || task.complement(a).is_some_and(changed)) {
                self.values.set(a, after.get(a));
                self.known[i] = true;
            }
        }
    }

    /// A call whose precondition `pre` (of an action of `task`, as [`Belief::view`]'s) held on
    /// the view failed, so some fact it assumed is wrong. When exactly one assumed (unknown)
    /// fluent fact is among `pre`'s required literals (an atom: assumed to hold; a complement:
    /// assumed not to), that one is the culprit: it becomes known the other way, so the next
    /// plan makes it so instead of assuming it. With two or more nothing is inferred (any one
    /// could be the wrong one). Facts no action changes are left alone: a failure cannot
    /// refute what nothing could repair. Returns whether a fact was refuted.
    pub fn refute_assumption(&mut self, task: &Task, pre: &Cond) -> bool {
        let fluent = |a: AtomId| {
            task.actions
                .iter()
                .flat_map(|x| &x.effects)
                .any(|e| e.add.contains(&a) || e.del.contains(&a))
        };
        // (fact, the value assumed) of each assumed literal.
        let assumed: Vec<(AtomId, bool)> = pre
            .required_literals()
            .into_iter()
            .filter(|&(_, v)| v)
            .map(|(x, _)| task.negated(x).map_or((x, true), |a| (a, false)))
            .filter(|&(a, _)| !self.known[a as usize] && !task.derived[a as usize])
            .filter(|&(a, _)| fluent(a))
            .collect();
        let [(a, v)] = assumed[..] else {
            return false;
        };
        self.values.set(a, !v);
        self.known[a as usize] = true;
        true
    }

    /// A call whose precondition `pre` (as [`Belief::refute_assumption`]'s) held on the view
    /// failed, and no single required literal explains it. Each disjunction of literals among
    /// `pre`'s conjuncts that known facts do not satisfy, and that held through exactly one
    /// open literal, is a suspect: that literal is no longer assumed (the fact stays unknown).
    /// The glass that cannot be grabbed: "not inside the cupboard, or the cupboard open" held
    /// only by assuming the glass is not inside the closed cupboard in view, so the next plan
    /// opens the cupboard to look. Returns whether anything was doubted.
    pub fn doubt_assumptions(&mut self, task: &Task, pre: &Cond) -> bool {
        let Cond::And(conjuncts) = pre else {
            return false;
        };
        // (fact, the value the literal asks of it)
        let fact = |x: AtomId| task.negated(x).map_or((x, true), |a| (a, false));
        let mut doubted = false;
        for c in conjuncts {
            let Cond::Or(disjuncts) = c else { continue };
            let mut lits = Vec::new();
            for d in disjuncts {
                match d {
                    Cond::Lit(x, true) if !task.derived[*x as usize] => lits.push(fact(*x)),
                    _ => {
                        lits.clear();
                        break;
                    }
                }
            }
            let known_true =
                |&(a, v): &(AtomId, bool)| self.known[a as usize] && self.values.get(a) == v;
            if lits.is_empty() || lits.iter().any(known_true) {
                continue;
            }
            let open: Vec<(AtomId, bool)> = lits
                .into_iter()
                .filter(|&(a, v)| {
                    !self.known[a as usize]
                        && if v {
                            self.assumable[a as usize]
                        } else {
                            self.refutable[a as usize]
                        }
                })
                .collect();
            if let [(a, v)] = open[..] {
                if v {
                    self.assumable[a as usize] = false;
                } else {
                    self.refutable[a as usize] = false;
                }
                doubted = true;
            }
        }
        doubted
    }

    /// Whether `c` holds on known facts alone (an unknown fact satisfies no literal; derived
    /// facts are judged on the state with nothing assumed).
    pub fn holds_known(&self, task: &Task, c: &Cond) -> bool {
        if self.is_full() {
            let mut s = self.values.clone();
            return c.holds(task.close(&mut s));
        }
        self.holds_on(task, c, &self.known_state(task))
    }

    /// The known facts alone, every unknown one taken as false, derived facts evaluated: what
    /// the world's own dynamics are predicted on (an assumption must not make the oven roast).
    pub fn known_state(&self, task: &Task) -> State {
        let mut s = self.values.clone();
        for (i, k) in self.known.iter().enumerate() {
            if !*k {
                s.set(i as AtomId, false);
            }
        }
        task.close(&mut s);
        s
    }

    fn holds_on(&self, task: &Task, c: &Cond, pessimistic: &State) -> bool {
        match c {
            Cond::True => true,
            Cond::False => false,
            Cond::Lit(a, v) => {
                (self.known[*a as usize] || task.derived[*a as usize]) && pessimistic.get(*a) == *v
            }
            Cond::And(v) => v.iter().all(|c| self.holds_on(task, c, pessimistic)),
            Cond::Or(v) => v.iter().any(|c| self.holds_on(task, c, pessimistic)),
        }
    }
}

/// Whether atom `i` is the task's own bookkeeping (a required action's step, see
/// [`clea_domain::required`]) rather than a fact about the world.
fn bookkeeping(task: &Task, i: usize) -> bool {
    is_step_predicate(&task.domain.predicates[task.atoms[i].pred].name)
}

/// The literals of a goal (every polarity it reads each atom with).
fn goal_literals(c: &Cond, out: &mut Vec<(AtomId, bool)>) {
    match c {
        Cond::Lit(a, v) => out.push((*a, *v)),
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| goal_literals(c, out)),
        _ => {}
    }
}

fn mark_positive(c: &Cond, out: &mut [bool]) {
    match c {
        Cond::Lit(a, true) => out[*a as usize] = true,
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| mark_positive(c, out)),
        _ => {}
    }
}
