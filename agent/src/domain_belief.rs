//! The domain agent's belief (POMDP sense) over a loaded domain: which facts it knows and their
//! values, with optimistic assumptions for the rest, so the planner can plan on a belief that
//! leaves things open (where an unseen item is, whether a far cupboard is open).
//!
//! - Full observability: the belief starts as the problem's initial state, every fact known.
//! - Partial observability: it starts empty; facts become known when a robot perceives them
//!   (the binding's observation model, [`clea_domain::binding::perceived`]) or when an executed
//!   skill's predicted effect sets them.
//!
//! The planner and the critic work on [`Belief::view`]: known facts as they are, each unknown
//! fact assumed to hold when a precondition or an axiom reads it positively (it might help) and
//! the goal does not name it (what is asked for is achieved or seen, never assumed), except that a fact `p(a, ...)` is not assumed while another `p(a, ...)` is known to
//! hold (a thing is in one place, a robot at one point). The plan therefore goes to look at the
//! cheapest place the assumption allows; the observation there confirms or refutes it, and a
//! refuted assumption makes the next plan look elsewhere. Whether a goal holds is judged on known
//! facts only ([`Belief::holds_known`]).

use clea_domain::{AtomId, Cond, State, Task};

/// What the agent knows about the world.
#[derive(Debug, Clone)]
pub struct Belief {
    values: State,
    known: Vec<bool>,
    /// Unknown facts that may be assumed to hold (read positively somewhere).
    assumable: Vec<bool>,
}

impl Belief {
    /// Everything known: the problem's initial state.
    pub fn full(task: &Task) -> Belief {
        Belief {
            values: task.init.clone(),
            known: vec![true; task.atoms.len()],
            assumable: vec![false; task.atoms.len()],
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
        task.goal
            .for_each_atom(&mut |a| assumable[a as usize] = false);
        Belief {
            values: State::with_atoms(n, &[]),
            known: task.derived.clone(),
            assumable,
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
            *k = task.derived[i];
        }
        self.observe(keep);
    }

    /// The state the planner and the critic use: known facts, and the assumptions for the
    /// unknown ones (see the module docs), with derived facts evaluated.
    pub fn view(&self, task: &Task) -> State {
        let mut s = self.values.clone();
        if !self.is_full() {
            // (predicate, first argument) of every known fact that holds with two or more
            // arguments: such a fact excludes assuming its siblings.
            let taken: std::collections::HashSet<(usize, u32)> = (0..task.atoms.len())
                .filter(|i| self.known[*i] && self.values.get(*i as AtomId))
                .filter_map(|i| {
                    let ga = &task.atoms[i];
                    (ga.args.len() >= 2).then(|| (ga.pred, ga.args[0]))
                })
                .collect();
            for i in 0..task.atoms.len() {
                if self.known[i] {
                    continue;
                }
                let ga = &task.atoms[i];
                let excluded = ga.args.len() >= 2 && taken.contains(&(ga.pred, ga.args[0]));
                s.set(i as AtomId, self.assumable[i] && !excluded);
            }
        }
        task.close(&mut s);
        s
    }

    /// Record the predicted successor of the view (an executed skill's effects, the world's
    /// dynamics): every fact that it changes becomes known with its new value.
    pub fn predict(&mut self, task: &Task, before: &State, after: &State) {
        for i in 0..task.atoms.len() {
            let a = i as AtomId;
            if !task.derived[i] && before.get(a) != after.get(a) {
                self.values.set(a, after.get(a));
                self.known[i] = true;
            }
        }
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

fn mark_positive(c: &Cond, out: &mut [bool]) {
    match c {
        Cond::Lit(a, true) => out[*a as usize] = true,
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| mark_positive(c, out)),
        _ => {}
    }
}
