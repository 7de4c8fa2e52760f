//! Lazy greedy best-first search with the FF heuristic and preferred operators (the search of
//! Fast Downward's `lama-first`, without landmarks): two open lists, all successors and those
//! reached by preferred operators, alternated, with the preferred list boosted whenever the
//! heuristic improves; successors are evaluated when taken out, not when generated. Duplicate
//! states are detected on their packed bits; only the derived atoms the goal and the actions
//! read are evaluated ([`Task::relevant_axioms`]).
//!
//! Every search honours [`Limits`]: a deadline, a cancellation flag and a memory bound, checked
//! while it runs, so a module timeout stops it at once.

use crate::ground::{Cond, Task};
use crate::relax::Relaxation;
use crate::state::State;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Bounds on one search.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Give up at this instant ([`SearchError::Timeout`]).
    pub deadline: Option<Instant>,
    /// Give up when this flag is set ([`SearchError::Cancelled`]).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Give up when the stored states would exceed this many bytes ([`SearchError::OutOfMemory`]).
    pub memory_bytes: usize,
}

impl Limits {
    /// Whether the search may go on.
    ///
    /// # Errors
    /// [`SearchError::Cancelled`] when the flag is set, [`SearchError::Timeout`] after the
    /// deadline.
    pub fn check(&self) -> Result<(), SearchError> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(SearchError::Cancelled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SearchError::Timeout);
        }
        Ok(())
    }
}

impl Default for Limits {
    /// No deadline, no cancellation, 2 GiB of states.
    fn default() -> Self {
        Limits {
            deadline: None,
            cancel: None,
            memory_bytes: 2 << 30,
        }
    }
}

/// Why a search found no plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// Every reachable state was explored (or the goal is unreachable even without deletes):
    /// no plan exists.
    #[error("no plan exists (the goal is unreachable from the initial state)")]
    Unsolvable,
    /// The deadline passed.
    #[error("the search ran out of time")]
    Timeout,
    /// The cancellation flag was set.
    #[error("the search was cancelled")]
    Cancelled,
    /// The memory bound was reached.
    #[error("the search reached its memory bound")]
    OutOfMemory,
}

/// Counters of one search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// States expanded.
    pub expanded: usize,
    /// Distinct states generated.
    pub generated: usize,
    /// Heuristic evaluations.
    pub evaluated: usize,
    /// Bytes of state storage at the end.
    pub state_bytes: usize,
}

/// A plan: indices into [`Task::actions`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Ground actions in execution order.
    pub actions: Vec<usize>,
    /// What the search did.
    pub stats: SearchStats,
}

/// Applicable-action lookup: each action is filed under one atom its precondition requires.
struct Successors {
    by_atom: Vec<Vec<u32>>,
    always: Vec<u32>,
}

impl Successors {
    fn new(task: &Task) -> Successors {
        let mut by_atom = vec![Vec::new(); task.atoms.len()];
        let mut always = Vec::new();
        for (i, a) in task.actions.iter().enumerate() {
            match a.pre.required_literals().into_iter().find(|(_, v)| *v) {
                Some((atom, _)) => by_atom[atom as usize].push(i as u32),
                None => always.push(i as u32),
            }
        }
        Successors { by_atom, always }
    }

    fn applicable(&self, task: &Task, s: &State, out: &mut Vec<u32>) {
        out.clear();
        out.extend(
            self.always
                .iter()
                .copied()
                .filter(|a| task.applicable(*a as usize, s)),
        );
        for atom in s.atoms() {
            if let Some(list) = self.by_atom.get(atom as usize) {
                out.extend(
                    list.iter()
                        .copied()
                        .filter(|a| task.applicable(*a as usize, s)),
                );
            }
        }
        out.sort_unstable();
    }
}

/// The actions from the root to state `n`, following `parent` links ((state, action); the
/// root's parent is `u32::MAX`).
fn trace(parent: &[(u32, u32)], mut n: u32) -> Vec<usize> {
    let mut actions = Vec::new();
    while parent[n as usize].0 != u32::MAX {
        actions.push(parent[n as usize].1 as usize);
        n = parent[n as usize].0;
    }
    actions.reverse();
    actions
}

/// Find a plan for `task` from its initial state.
///
/// # Errors
/// [`SearchError`]: no plan exists, or a limit was reached first.
pub fn plan(task: &Task, limits: &Limits) -> Result<Plan, SearchError> {
    plan_from(task, &task.init, limits)
}

/// Find a plan for `task` from `start` (e.g. a belief state instead of the initial state).
///
/// # Errors
/// As [`plan`].
pub fn plan_from(task: &Task, start: &State, limits: &Limits) -> Result<Plan, SearchError> {
    plan_for(task, start, &task.goal, limits)
}

/// Find a plan from `start` that makes `goal` hold (another goal than the task's: one of its
/// conjuncts, or the goals still in reach).
///
/// Lazy greedy best-first search, as Fast Downward's `lama-first` (`lazy_greedy` with the FF
/// heuristic's preferred operators, boost 1000): a successor enters the open lists with its
/// parent's heuristic value and is generated and evaluated only when it is taken out, so a
/// state with hundreds of successors costs one heuristic evaluation, not hundreds.
///
/// # Errors
/// As [`plan`].
pub fn plan_for(
    task: &Task,
    start: &State,
    goal: &Cond,
    limits: &Limits,
) -> Result<Plan, SearchError> {
    let axioms = task.relevant_axioms(goal);
    let relax = Relaxation::for_goal(task, goal, &axioms);
    let succ = Successors::new(task);
    let mut stats = SearchStats::default();
    // Derived atoms the search does not need keep their value from `start` in every state.
    let mut start = start.clone();
    task.close_with(&axioms, &mut start);
    if goal.holds(&start) {
        return Ok(Plan {
            actions: vec![],
            stats,
        });
    }
    let words = start.words().len().max(1);
    let per_state = words * 8 * 2 + 64;
    let max_states = (limits.memory_bytes / per_state).max(1);

    let mut states: Vec<Rc<[u64]>> = Vec::new();
    let mut parent: Vec<(u32, u32)> = Vec::new();
    let mut seen: HashMap<Rc<[u64]>, u32> = HashMap::new();
    // Open entries: (heuristic value of the parent, FIFO order, parent state, action).
    type Entry = Reverse<(u32, u64, u32, u32)>;
    let mut open: [BinaryHeap<Entry>; 2] = [BinaryHeap::new(), BinaryHeap::new()];
    let mut priority = [0i64; 2];
    let mut seq = 0u64;
    let mut best_h = u32::MAX;
    let mut app = Vec::new();
    let mut pending = Some((u32::MAX, u32::MAX)); // the root: no parent, no action

    loop {
        if stats.expanded % 8 == 0 {
            limits.check()?;
        }
        let (from, action) = match pending.take() {
            Some(x) => x,
            None => {
                // The list with the lower priority value goes next; an empty one is skipped.
                let q = match (open[0].is_empty(), open[1].is_empty()) {
                    (true, true) => return Err(SearchError::Unsolvable),
                    (false, true) => 0,
                    (true, false) => 1,
                    (false, false) => usize::from(priority[1] < priority[0]),
                };
                priority[q] += 1;
                let Reverse((_, _, from, action)) = open[q].pop().expect("not empty");
                (from, action)
            }
        };
        let state = if from == u32::MAX {
            start.clone()
        } else {
            task.apply_with(
                action as usize,
                &State::from_words(&states[from as usize]),
                &axioms,
            )
        };
        let key: Rc<[u64]> = state.words().into();
        if seen.contains_key(&key) {
            continue;
        }
        if states.len() >= max_states {
            return Err(SearchError::OutOfMemory);
        }
        let id = states.len() as u32;
        states.push(key.clone());
        seen.insert(key, id);
        parent.push((from, action));
        stats.generated += 1;
        if goal.holds(&state) {
            let actions = trace(&parent, id);
            stats.state_bytes = states.len() * per_state;
            return Ok(Plan { actions, stats });
        }
        stats.evaluated += 1;
        let Some((h, preferred)) = relax.ff(&state) else {
            if from == u32::MAX {
                return Err(SearchError::Unsolvable);
            }
            continue; // a dead end
        };
        if h < best_h {
            if best_h != u32::MAX {
                priority[1] -= 1000;
            }
            best_h = h;
        }
        stats.expanded += 1;
        succ.applicable(task, &state, &mut app);
        for (k, &a) in app.iter().enumerate() {
            // A state with many successors takes long: the limits are checked within it too.
            if k % 256 == 255 {
                limits.check()?;
            }
            seq += 1;
            open[0].push(Reverse((h, seq, id, a)));
            if preferred.contains(&a) {
                open[1].push(Reverse((h, seq, id, a)));
            }
        }
    }
}

/// Improve `first` (a plan for `goal` from `start`) while time remains, as LAMA's later
/// iterations do: weighted A* with the FF heuristic and weights 5, 3, 2, 1, each search pruned
/// by the length of the best plan so far. Returns the best plan found when the weights are
/// exhausted or a limit is reached (a limit is not an error here: the first plan stands).
pub fn improve(task: &Task, start: &State, goal: &Cond, first: Plan, limits: &Limits) -> Plan {
    let axioms = task.relevant_axioms(goal);
    let relax = Relaxation::for_goal(task, goal, &axioms);
    let succ = Successors::new(task);
    let mut start = start.clone();
    task.close_with(&axioms, &mut start);
    let mut best = first;
    for w in [5u32, 3, 2, 1] {
        match weighted_astar(
            task,
            &start,
            goal,
            &relax,
            &succ,
            &axioms,
            w,
            best.actions.len(),
            limits,
        ) {
            Ok(Some(p)) => best = p,
            Ok(None) => {}
            Err(_) => break,
        }
    }
    best
}

/// One weighted A* (f = g + w·h), pruning states with g + 1 >= `bound` (no shorter plan
/// through them). `Ok(None)`: no plan shorter than `bound`.
#[allow(clippy::too_many_arguments)]
fn weighted_astar(
    task: &Task,
    start: &State,
    goal: &Cond,
    relax: &Relaxation,
    succ: &Successors,
    axioms: &[usize],
    w: u32,
    bound: usize,
    limits: &Limits,
) -> Result<Option<Plan>, SearchError> {
    let words = start.words().len().max(1);
    let per_state = words * 8 * 2 + 64;
    let max_states = (limits.memory_bytes / per_state).max(1);
    let mut stats = SearchStats::default();
    let mut states: Vec<Rc<[u64]>> = vec![start.words().into()];
    let mut parent: Vec<(u32, u32)> = vec![(u32::MAX, u32::MAX)];
    let mut g_of: Vec<u32> = vec![0];
    let mut seen: HashMap<Rc<[u64]>, u32> = HashMap::new();
    seen.insert(states[0].clone(), 0);
    let Some((h0, _)) = relax.ff(start) else {
        return Ok(None);
    };
    let mut open: BinaryHeap<Reverse<(u32, u32, u32)>> = BinaryHeap::new();
    open.push(Reverse((w * h0, h0, 0)));
    let mut app = Vec::new();
    while let Some(Reverse((_, _, n))) = open.pop() {
        if stats.expanded % 8 == 0 {
            limits.check()?;
        }
        stats.expanded += 1;
        let state = State::from_words(&states[n as usize]);
        let g = g_of[n as usize];
        if goal.holds(&state) {
            let actions = trace(&parent, n);
            stats.state_bytes = states.len() * per_state;
            return Ok(Some(Plan { actions, stats }));
        }
        if (g + 1) as usize >= bound {
            continue;
        }
        succ.applicable(task, &state, &mut app);
        for (k, &a) in app.iter().enumerate() {
            if k % 256 == 255 {
                limits.check()?;
            }
            let next = task.apply_with(a as usize, &state, axioms);
            let key: Rc<[u64]> = next.words().into();
            if let Some(&old) = seen.get(&key) {
                // Reopen only when reached more cheaply.
                if g_of[old as usize] <= g + 1 {
                    continue;
                }
                g_of[old as usize] = g + 1;
                parent[old as usize] = (n, a);
                if let Some((h, _)) = relax.ff(&next) {
                    open.push(Reverse((g + 1 + w * h, h, old)));
                }
                continue;
            }
            if states.len() >= max_states {
                return Err(SearchError::OutOfMemory);
            }
            stats.generated += 1;
            stats.evaluated += 1;
            let Some((h, _)) = relax.ff(&next) else {
                continue;
            };
            let id = states.len() as u32;
            states.push(key.clone());
            seen.insert(key, id);
            parent.push((n, a));
            g_of.push(g + 1);
            open.push(Reverse((g + 1 + w * h, h, id)));
        }
    }
    Ok(None)
}
