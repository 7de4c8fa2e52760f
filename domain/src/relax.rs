//! The delete relaxation: reachability analysis and the FF heuristic (Hoffmann & Nebel 2001),
//! with preferred operators, as Fast Downward's `lama-first` uses them.
//!
//! Negation is handled by relaxing over literals, not atoms: `(not p)` is a fact of its own that
//! holds initially when `p` does not and that a delete of `p` achieves (FF's compilation of
//! negative preconditions). A disjunction becomes an auxiliary fact that each of its disjuncts
//! achieves at no cost (as Fast Downward's translator turns `or` and `exists` into axioms), so
//! nested `or`/`exists` relax exactly and without a blow-up into normal form. The negation of a
//! derived atom is taken to be always reachable.

use crate::ground::{AtomId, Cond, Task};
use crate::state::State;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NONE: u32 = u32::MAX;

/// Literal index: `2 * atom` for `atom`, `2 * atom + 1` for `(not atom)`.
#[inline]
fn lit(a: AtomId, positive: bool) -> u32 {
    a * 2 + u32::from(!positive)
}

#[derive(Debug, Clone)]
struct Op {
    pre: Vec<u32>,
    add: Vec<u32>,
    cost: u32,
    /// Ground action it relaxes, [`NONE`] for axioms and the goal.
    action: u32,
    /// Whether it is the action's own (unconditional) part.
    base: bool,
}

/// The delete relaxation of a [`Task`].
#[derive(Debug, Clone)]
pub struct Relaxation {
    ops: Vec<Op>,
    by_pre: Vec<Vec<u32>>,
    no_pre: Vec<u32>,
    goal: u32,
    derived_neg: Vec<u32>,
    n_atoms: u32,
    n_lits: usize,
    /// Per ground action, the goal literals its unconditional effect makes false.
    undoes_goal: Vec<Vec<u32>>,
}

/// Compiles conditions into conjunctions of literals, adding auxiliary facts for disjunctions.
struct Builder {
    ops: Vec<Op>,
    next_lit: u32,
    /// A fact nothing achieves (for `False`).
    never: u32,
}

impl Builder {
    /// A zero-cost rule that is no action (an axiom, a disjunct, the goal): `pre` gives `add`.
    fn free(&mut self, pre: Vec<u32>, add: u32) {
        self.ops.push(Op {
            pre,
            add: vec![add],
            cost: 0,
            action: NONE,
            base: false,
        });
    }

    fn conj(&mut self, c: &Cond) -> Vec<u32> {
        match c {
            Cond::True => Vec::new(),
            Cond::False => vec![self.never],
            Cond::Lit(a, v) => vec![lit(*a, *v)],
            Cond::And(v) => v.iter().flat_map(|c| self.conj(c)).collect(),
            Cond::Or(v) => {
                let aux = self.next_lit;
                self.next_lit += 1;
                for c in v {
                    let pre = self.conj(c);
                    self.free(pre, aux);
                }
                vec![aux]
            }
        }
    }
}

/// The literals an effect makes true: its adds, and the negations of its deletes.
fn effect_lits(e: &crate::ground::CondEffect) -> Vec<u32> {
    e.add
        .iter()
        .map(|x| lit(*x, true))
        .chain(e.del.iter().map(|x| lit(*x, false)))
        .collect()
}

impl Relaxation {
    /// Build the relaxation of `task` (its actions, the axioms its search needs, its goal).
    pub fn new(task: &Task) -> Relaxation {
        Relaxation::for_goal(task, &task.goal, &task.relevant_axioms(&task.goal))
    }

    /// Build the relaxation of `task` with another `goal`, over the derived atoms of `axioms`
    /// (indices into [`Task::axioms`], e.g. [`Task::relevant_axioms`] of `goal`).
    pub fn for_goal(task: &Task, goal_cond: &Cond, axioms: &[usize]) -> Relaxation {
        let n_atoms = task.atoms.len() as u32;
        let goal = 2 * n_atoms;
        let mut b = Builder {
            ops: Vec::new(),
            next_lit: goal + 2,
            never: goal + 1,
        };
        for (ai, a) in task.actions.iter().enumerate() {
            let pre = b.conj(&a.pre);
            let mut effects = a.effects.iter().peekable();
            let base_add: Vec<u32> = match effects.peek() {
                Some(e) if e.cond == Cond::True => effect_lits(effects.next().expect("peeked")),
                _ => Vec::new(),
            };
            b.ops.push(Op {
                pre: pre.clone(),
                add: base_add,
                cost: 1,
                action: ai as u32,
                base: true,
            });
            for e in effects {
                let mut p = pre.clone();
                p.extend(b.conj(&e.cond));
                b.ops.push(Op {
                    pre: p,
                    add: effect_lits(e),
                    cost: 1,
                    action: ai as u32,
                    base: false,
                });
            }
        }
        for ax in axioms {
            let ax = &task.axioms[*ax];
            let pre = b.conj(&ax.body);
            b.free(pre, lit(ax.head, true));
        }
        let pre = b.conj(goal_cond);
        b.free(pre, goal);
        let goal_lits: Vec<u32> = match goal_cond {
            Cond::Lit(a, v) => vec![lit(*a, *v)],
            Cond::And(parts) => parts
                .iter()
                .filter_map(|c| match c {
                    Cond::Lit(a, v) => Some(lit(*a, *v)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut undoes_goal = vec![Vec::new(); task.actions.len()];
        for op in b.ops.iter().filter(|o| o.base && o.action != NONE) {
            // `l ^ 1` is the complement of an atom's literal.
            undoes_goal[op.action as usize] = goal_lits
                .iter()
                .copied()
                .filter(|g| op.add.contains(&(g ^ 1)))
                .collect();
        }
        let mut ops = b.ops;
        for op in &mut ops {
            op.pre.sort_unstable();
            op.pre.dedup();
        }
        let n_lits = b.next_lit as usize;
        let mut by_pre = vec![Vec::new(); n_lits];
        let mut no_pre = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if op.pre.is_empty() {
                no_pre.push(i as u32);
            }
            for p in &op.pre {
                by_pre[*p as usize].push(i as u32);
            }
        }
        let derived_neg = task
            .derived
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .map(|(i, _)| lit(i as AtomId, false))
            .collect();
        Relaxation {
            ops,
            by_pre,
            no_pre,
            goal,
            derived_neg,
            n_atoms,
            n_lits,
            undoes_goal,
        }
    }

    /// h_add exploration from `state`: the cost of every literal and its best supporter.
    /// Stops when the goal is reached if `stop_at_goal`.
    /// Relaxed exploration from `state`'s literals, or from every literal of every atom
    /// (`None`: nothing known about the fluent facts).
    fn explore(
        &self,
        state: Option<&State>,
        stop_at_goal: bool,
    ) -> (Vec<u32>, Vec<u32>, Vec<bool>) {
        let n = self.n_lits;
        let mut cost = vec![NONE; n];
        let mut supporter = vec![NONE; n];
        let mut fired = vec![false; self.ops.len()];
        let mut counter: Vec<u32> = self.ops.iter().map(|o| o.pre.len() as u32).collect();
        let mut op_cost: Vec<u32> = self.ops.iter().map(|o| o.cost).collect();
        let mut heap = BinaryHeap::new();
        // The state's literals cost nothing: they are processed first, in a plain list (a
        // large task has tens of thousands of them, and a heap would only order equal keys).
        let mut zero = Vec::with_capacity(self.n_atoms as usize + self.derived_neg.len());
        for a in 0..self.n_atoms {
            let values: &[bool] = match state {
                Some(s) => &[s.get(a)],
                None => &[true, false],
            };
            for v in values {
                let l = lit(a, *v);
                cost[l as usize] = 0;
                zero.push(l);
            }
        }
        for l in &self.derived_neg {
            if cost[*l as usize] != 0 {
                cost[*l as usize] = 0;
                zero.push(*l);
            }
        }
        let fire = |o: u32,
                    c: u32,
                    cost: &mut Vec<u32>,
                    supporter: &mut Vec<u32>,
                    fired: &mut Vec<bool>,
                    heap: &mut BinaryHeap<Reverse<(u32, u32)>>| {
            fired[o as usize] = true;
            for a in &self.ops[o as usize].add {
                if c < cost[*a as usize] {
                    cost[*a as usize] = c;
                    supporter[*a as usize] = o;
                    heap.push(Reverse((c, *a)));
                }
            }
        };
        for o in &self.no_pre {
            let c = self.ops[*o as usize].cost;
            fire(*o, c, &mut cost, &mut supporter, &mut fired, &mut heap);
        }
        let mut zero = zero.into_iter();
        while let Some((c, l)) = zero
            .next()
            .map(|l| (0, l))
            .or_else(|| heap.pop().map(|Reverse(x)| x))
        {
            if c > cost[l as usize] {
                continue;
            }
            if l == self.goal && stop_at_goal {
                break;
            }
            for o in &self.by_pre[l as usize] {
                let oi = *o as usize;
                op_cost[oi] = op_cost[oi].saturating_add(c);
                counter[oi] -= 1;
                if counter[oi] == 0 {
                    fire(
                        *o,
                        op_cost[oi],
                        &mut cost,
                        &mut supporter,
                        &mut fired,
                        &mut heap,
                    );
                }
            }
        }
        (cost, supporter, fired)
    }

    /// Which ground actions of `task` are reachable from `state` in the relaxation.
    pub fn reachable_actions(&self, task: &Task, state: &State) -> Vec<bool> {
        self.fired_actions(task, self.explore(Some(state), false).2)
    }

    /// The ground actions reachable in the relaxation whatever the fluent facts are (every
    /// literal of every atom holds at the start): only static facts rule an action out.
    pub fn reachable_actions_from_anywhere(&self, task: &Task) -> Vec<bool> {
        self.fired_actions(task, self.explore(None, false).2)
    }

    fn fired_actions(&self, task: &Task, fired: Vec<bool>) -> Vec<bool> {
        let mut out = vec![false; task.actions.len()];
        for (o, f) in self.ops.iter().zip(fired) {
            if f && o.base && o.action != NONE {
                out[o.action as usize] = true;
            }
        }
        out
    }

    /// The FF heuristic of `state`: the number of actions in a relaxed plan, plus one for each
    /// goal literal that holds in `state` and that an action of the plan undoes (the relaxation
    /// forgets that it must be achieved again: `close` after `switch_on` when the goal is both
    /// closed and on), and the actions of that plan whose relaxed preconditions hold in `state`
    /// (preferred operators). `None` when the goal is unreachable even relaxed (a dead end).
    pub fn ff(&self, state: &State) -> Option<(u32, Vec<u32>)> {
        let (cost, supporter, _) = self.explore(Some(state), true);
        if cost[self.goal as usize] == NONE {
            return None;
        }
        let mut in_plan = vec![false; self.ops.len()];
        let mut marked = vec![false; cost.len()];
        let mut actions: Vec<u32> = Vec::new();
        let mut preferred = Vec::new();
        let mut stack = vec![self.goal];
        while let Some(l) = stack.pop() {
            if marked[l as usize] || cost[l as usize] == 0 && supporter[l as usize] == NONE {
                continue;
            }
            marked[l as usize] = true;
            let o = supporter[l as usize];
            if o == NONE {
                continue;
            }
            let op = &self.ops[o as usize];
            if !in_plan[o as usize] {
                in_plan[o as usize] = true;
                if op.action != NONE && !actions.contains(&op.action) {
                    actions.push(op.action);
                    if op.pre.iter().all(|p| cost[*p as usize] == 0) {
                        preferred.push(op.action);
                    }
                }
            }
            stack.extend(op.pre.iter().copied());
        }
        let undone = actions
            .iter()
            .flat_map(|a| &self.undoes_goal[*a as usize])
            .filter(|g| cost[**g as usize] == 0)
            .count() as u32;
        Some((actions.len() as u32 + undone, preferred))
    }
}
