//! Grounding: a [`Domain`] and a [`Problem`] become a [`Task`] of ground atoms, ground actions
//! and ground axioms, with static facts folded away and unreachable actions pruned.
//!
//! Formulas are grounded into negation normal form ([`Cond`]): quantifiers expand over the
//! objects of their types, equalities and static atoms (predicates no action changes) become
//! constants, `imply` becomes `or`. Parameters are bound one at a time and a binding is dropped as
//! soon as a static conjunct of the precondition fails, so grounding does not enumerate every
//! tuple. A relaxed reachability analysis ([`crate::relax`]) then removes actions that can never
//! apply, as Fast Downward's translator does.

use crate::error::{DomainError, ErrorKind};
use crate::lifted::*;
use crate::search::{Limits, SearchError};
use crate::state::State;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Variable bindings of a scope, innermost last.
type Env = Vec<(String, ObjId)>;
type BindingFn<'a> = dyn FnMut(&mut Task, &mut Env) + 'a;

/// Index of a ground atom in [`Task::atoms`].
pub type AtomId = u32;
/// Index of an object in [`Task::objects`].
pub type ObjId = u32;

/// A ground atom: a predicate and object arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroundAtom {
    /// Predicate.
    pub pred: PredId,
    /// Objects, in parameter order.
    pub args: Vec<ObjId>,
}

/// A ground condition in negation normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Always holds.
    True,
    /// Never holds.
    False,
    /// The atom holds (`true`) or does not (`false`).
    Lit(AtomId, bool),
    /// All hold.
    And(Vec<Cond>),
    /// One holds.
    Or(Vec<Cond>),
}

impl Cond {
    fn and(parts: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Cond::True => {}
                Cond::False => return Cond::False,
                Cond::And(v) => out.extend(v),
                c => out.push(c),
            }
        }
        match out.len() {
            0 => Cond::True,
            1 => out.pop().expect("one"),
            _ => Cond::And(out),
        }
    }

    fn or(parts: Vec<Cond>) -> Cond {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Cond::False => {}
                Cond::True => return Cond::True,
                Cond::Or(v) => out.extend(v),
                c => out.push(c),
            }
        }
        match out.len() {
            0 => Cond::False,
            1 => out.pop().expect("one"),
            _ => Cond::Or(out),
        }
    }

    /// Whether the condition holds in `state`.
    pub fn holds(&self, state: &State) -> bool {
        match self {
            Cond::True => true,
            Cond::False => false,
            Cond::Lit(a, v) => state.get(*a) == *v,
            Cond::And(v) => v.iter().all(|c| c.holds(state)),
            Cond::Or(v) => v.iter().any(|c| c.holds(state)),
        }
    }

    /// Call `f` on every atom the condition reads.
    pub fn for_each_atom(&self, f: &mut impl FnMut(AtomId)) {
        match self {
            Cond::True | Cond::False => {}
            Cond::Lit(a, _) => f(*a),
            Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| c.for_each_atom(f)),
        }
    }

    /// Literals that must hold for the condition to hold (the top-level conjunction's literals).
    pub fn required_literals(&self) -> Vec<(AtomId, bool)> {
        match self {
            Cond::Lit(a, v) => vec![(*a, *v)],
            Cond::And(v) => v
                .iter()
                .filter_map(|c| match c {
                    Cond::Lit(a, v) => Some((*a, *v)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Effects that apply together under one condition (evaluated in the state before the action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondEffect {
    /// Condition (`True` for unconditional effects).
    pub cond: Cond,
    /// Atoms made true.
    pub add: Vec<AtomId>,
    /// Atoms made false (an atom both added and deleted ends up true, as PDDL specifies).
    pub del: Vec<AtomId>,
}

/// A ground action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundAction {
    /// Index of its schema in [`Domain::actions`].
    pub schema: usize,
    /// Objects bound to the schema's parameters.
    pub args: Vec<ObjId>,
    /// Precondition.
    pub pre: Cond,
    /// Effects.
    pub effects: Vec<CondEffect>,
}

/// A ground axiom of a derived predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundAxiom {
    /// Derived atom.
    pub head: AtomId,
    /// Body.
    pub body: Cond,
    /// Evaluation layer (stratified negation).
    pub stratum: usize,
}

/// A grounded planning task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The lifted domain.
    pub domain: Domain,
    /// Object names.
    pub objects: Vec<String>,
    /// Object types.
    pub object_types: Vec<TypeId>,
    /// Ground atoms of fluent and derived predicates (static ones are folded away).
    pub atoms: Vec<GroundAtom>,
    /// Whether each atom is derived.
    pub derived: Vec<bool>,
    /// Ground actions that are reachable.
    pub actions: Vec<GroundAction>,
    /// Ground axioms, in stratum order.
    pub axioms: Vec<GroundAxiom>,
    /// Initial state (derived atoms evaluated).
    pub init: State,
    /// Goal.
    pub goal: Cond,
    atom_ids: HashMap<GroundAtom, AtomId>,
    object_ids: HashMap<String, ObjId>,
    static_true: HashSet<GroundAtom>,
    fluent: Vec<bool>,
    /// Bounds while grounding, and the one that stopped it.
    budget: Limits,
    stopped: Option<SearchError>,
    ticks: u64,
    /// Atom → its complement atom, where [`Task::complemented`] made one (empty otherwise).
    pub(crate) complement: Vec<Option<AtomId>>,
    /// Complement atom → the atom it negates.
    pub(crate) negates: Vec<Option<AtomId>>,
}

/// Why grounding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroundError {
    /// The domain or problem does not check.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A limit was reached while grounding.
    #[error("grounding stopped: {0}")]
    Limit(#[from] SearchError),
}

/// Rough bytes of one ground action and one ground atom, for the memory bound while grounding.
const ACTION_BYTES: usize = 256;
const ATOM_BYTES: usize = 96;

/// Stratum of every predicate (0 for basic ones): a derived predicate that depends on another
/// one negatively sits in a higher stratum.
///
/// # Errors
/// [`ErrorKind::NotStratifiable`] when a derived predicate depends negatively on itself.
pub fn strata(d: &Domain) -> Result<Vec<usize>, DomainError> {
    let n = d.predicates.len();
    let mut deps: Vec<(PredId, PredId, bool)> = Vec::new(); // (head, body pred, negated)
    fn walk(
        f: &Formula,
        neg: bool,
        head: PredId,
        d: &Domain,
        out: &mut Vec<(PredId, PredId, bool)>,
    ) {
        match f {
            Formula::True | Formula::Equal(..) => {}
            Formula::Atom(a) => {
                if d.predicates[a.pred].derived {
                    out.push((head, a.pred, neg));
                }
            }
            Formula::Not(f) => walk(f, !neg, head, d, out),
            Formula::And(v) | Formula::Or(v) => v.iter().for_each(|f| walk(f, neg, head, d, out)),
            Formula::Imply(a, b) => {
                walk(a, !neg, head, d, out);
                walk(b, neg, head, d, out);
            }
            Formula::Exists(_, f) | Formula::Forall(_, f) => walk(f, neg, head, d, out),
        }
    }
    for ax in &d.axioms {
        walk(&ax.body, false, ax.pred, d, &mut deps);
    }
    let mut s = vec![0usize; n];
    for _ in 0..=n {
        let mut changed = false;
        for &(h, b, neg) in &deps {
            let need = s[b] + usize::from(neg);
            if s[h] < need {
                s[h] = need;
                changed = true;
            }
        }
        if !changed {
            return Ok(s);
        }
    }
    let bad = deps
        .iter()
        .find(|(h, b, neg)| *neg && s[*b] + 1 > s[*h])
        .map(|(h, _, _)| d.predicates[*h].name.clone())
        .unwrap_or_default();
    Err(DomainError::new(
        ErrorKind::NotStratifiable,
        format!("derived {bad}"),
        "derived predicates depend negatively on themselves (not stratifiable)",
    ))
}

impl Task {
    /// Ground `problem` over `domain`.
    ///
    /// # Errors
    /// [`ErrorKind::NotStratifiable`] (checked at parse time too), or [`ErrorKind::Type`] for an
    /// initial atom whose objects do not fit the predicate's types.
    pub fn ground(domain: &Domain, problem: &Problem) -> Result<Task, DomainError> {
        Task::ground_within(domain, problem, &Limits::default()).map_err(|e| match e {
            GroundError::Domain(e) => e,
            GroundError::Limit(l) => DomainError::new(
                ErrorKind::Unsupported,
                "",
                format!(
                    "grounding stopped: {l} ({} MiB)",
                    Limits::default().memory_bytes >> 20
                ),
            ),
        })
    }

    /// Ground `problem` over `domain` within `limits` (deadline, cancellation, memory).
    ///
    /// # Errors
    /// [`GroundError::Domain`] as [`Task::ground`]; [`GroundError::Limit`] when a limit is
    /// reached first.
    pub fn ground_within(
        domain: &Domain,
        problem: &Problem,
        limits: &Limits,
    ) -> Result<Task, GroundError> {
        Task::ground_from(domain, problem, limits, false)
    }

    /// As [`Task::ground_within`], but keeping every ground action whose static preconditions
    /// hold, whatever the initial fluent facts: for an agent that does not know the initial
    /// state (partial observability), to which the problem's fluent facts are a guess, so
    /// reachability from them must not prune what the real world allows (a computer the
    /// problem lists neither on nor off can still be switched). Plans and semantics are
    /// [`Task::ground_within`]'s; the task is larger.
    ///
    /// # Errors
    /// As [`Task::ground_within`].
    pub fn ground_open(
        domain: &Domain,
        problem: &Problem,
        limits: &Limits,
    ) -> Result<Task, GroundError> {
        Task::ground_from(domain, problem, limits, true)
    }

    fn ground_from(
        domain: &Domain,
        problem: &Problem,
        limits: &Limits,
        open: bool,
    ) -> Result<Task, GroundError> {
        let object_ids: HashMap<String, ObjId> = problem
            .objects
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i as ObjId))
            .collect();
        let fluent = {
            let mut f = domain.fluent_predicates();
            for (i, p) in domain.predicates.iter().enumerate() {
                f[i] |= p.derived;
            }
            f
        };
        let mut t = Task {
            domain: domain.clone(),
            objects: problem.objects.iter().map(|(n, _)| n.clone()).collect(),
            object_types: problem.objects.iter().map(|(_, t)| *t).collect(),
            atoms: Vec::new(),
            derived: Vec::new(),
            actions: Vec::new(),
            axioms: Vec::new(),
            init: State::default(),
            goal: Cond::True,
            atom_ids: HashMap::new(),
            object_ids,
            static_true: HashSet::new(),
            fluent,
            budget: limits.clone(),
            stopped: None,
            ticks: 0,
            complement: Vec::new(),
            negates: Vec::new(),
        };
        let mut init_atoms = Vec::new();
        for (pred, args) in &problem.init {
            let args: Vec<ObjId> = args.iter().map(|a| t.object_ids[a]).collect();
            let ga = GroundAtom { pred: *pred, args };
            if t.fluent[*pred] {
                init_atoms.push(t.intern(ga));
            } else {
                t.static_true.insert(ga);
            }
        }
        let mut env = Vec::new();
        t.goal = t.cond(&problem.goal, &mut env, true);
        // Axioms.
        let strata = strata(domain)?;
        for ax in &domain.axioms {
            let params = ax.params.clone();
            let body = ax.body.clone();
            t.for_each_binding(&params, &mut Vec::new(), &mut |t, env| {
                let body = t.cond(&body, env, true);
                if body != Cond::False {
                    let args = env.iter().map(|(_, o)| *o).collect();
                    let head = t.intern(GroundAtom {
                        pred: ax.pred,
                        args,
                    });
                    t.axioms.push(GroundAxiom {
                        head,
                        body,
                        stratum: strata[ax.pred],
                    });
                }
            });
        }
        t.axioms.sort_by_key(|a| a.stratum);
        // Actions.
        for (si, schema) in domain.actions.iter().enumerate() {
            let checks = static_checks(&t, schema);
            let schema = schema.clone();
            let mut env = Vec::new();
            t.ground_action(si, &schema, &checks, 0, &mut env);
        }
        if let Some(limit) = t.stopped {
            return Err(limit.into());
        }
        let mut init = State::with_atoms(t.atoms.len(), &init_atoms);
        t.close(&mut init);
        t.init = init;
        let relaxed = crate::relax::Relaxation::new(&t);
        let reachable = if open {
            relaxed.reachable_actions_from_anywhere(&t)
        } else {
            relaxed.reachable_actions(&t, &t.init)
        };
        let mut i = 0;
        t.actions.retain(|_| {
            i += 1;
            reachable[i - 1]
        });
        Ok(t)
    }

    fn ground_action(
        &mut self,
        si: usize,
        schema: &ActionSchema,
        checks: &[Vec<(Formula, bool)>],
        depth: usize,
        env: &mut Vec<(String, ObjId)>,
    ) {
        if self.stopped.is_some() || self.over_budget() {
            return;
        }
        if depth == schema.params.len() {
            let pre = self.cond(&schema.precondition, env, true);
            if pre == Cond::False {
                return;
            }
            let mut effects = Vec::new();
            self.effects(&schema.effects, env, &Cond::True, &mut effects);
            // One unconditional effect list first, then the conditional ones.
            let mut merged = CondEffect {
                cond: Cond::True,
                add: Vec::new(),
                del: Vec::new(),
            };
            let mut rest = Vec::new();
            for e in effects {
                if e.cond == Cond::True {
                    merged.add.extend(e.add);
                    merged.del.extend(e.del);
                } else if e.cond != Cond::False {
                    rest.push(e);
                }
            }
            let mut all = Vec::new();
            if !merged.add.is_empty() || !merged.del.is_empty() {
                all.push(merged);
            }
            all.extend(rest);
            self.actions.push(GroundAction {
                schema: si,
                args: env.iter().map(|(_, o)| *o).collect(),
                pre,
                effects: all,
            });
            return;
        }
        let p = &schema.params[depth];
        for o in self.objects_of(&p.types) {
            env.push((p.name.clone(), o));
            let ok = checks[depth].iter().all(|(f, pos)| {
                let mut e2 = env.clone();
                self.cond(f, &mut e2, *pos) != Cond::False
            });
            if ok {
                self.ground_action(si, schema, checks, depth + 1, env);
            }
            env.pop();
        }
    }

    /// Whether a limit is reached (checked every 1024 calls); records which.
    fn over_budget(&mut self) -> bool {
        self.ticks += 1;
        if !self.ticks.is_multiple_of(1024) {
            return false;
        }
        self.stopped = match self.budget.check() {
            Err(e) => Some(e),
            Ok(())
                if self.actions.len() * ACTION_BYTES + self.atoms.len() * ATOM_BYTES
                    > self.budget.memory_bytes =>
            {
                Some(SearchError::OutOfMemory)
            }
            Ok(()) => None,
        };
        self.stopped.is_some()
    }

    fn effects(
        &mut self,
        effects: &[Effect],
        env: &mut Vec<(String, ObjId)>,
        cond: &Cond,
        out: &mut Vec<CondEffect>,
    ) {
        for e in effects {
            match e {
                Effect::Add(a) | Effect::Delete(a) => {
                    let ga = self.ground_atom(a, env);
                    let id = self.intern(ga);
                    let (add, del) = if matches!(e, Effect::Add(_)) {
                        (vec![id], vec![])
                    } else {
                        (vec![], vec![id])
                    };
                    out.push(CondEffect {
                        cond: cond.clone(),
                        add,
                        del,
                    });
                }
                Effect::Forall(params, inner) => {
                    let params = params.clone();
                    let inner = inner.clone();
                    let cond = cond.clone();
                    let base = env.len();
                    self.for_each_binding(&params, env, &mut |t, env| {
                        t.effects(&inner, env, &cond, out);
                    });
                    env.truncate(base);
                }
                Effect::When(c, inner) => {
                    let c = self.cond(c, env, true);
                    let both = Cond::and(vec![cond.clone(), c]);
                    if both != Cond::False {
                        // Group the inner effects under one condition.
                        let mut sub = Vec::new();
                        self.effects(inner, env, &Cond::True, &mut sub);
                        let mut merged = CondEffect {
                            cond: both.clone(),
                            add: Vec::new(),
                            del: Vec::new(),
                        };
                        for s in sub {
                            if s.cond == Cond::True {
                                merged.add.extend(s.add);
                                merged.del.extend(s.del);
                            } else {
                                out.push(CondEffect {
                                    cond: Cond::and(vec![both.clone(), s.cond]),
                                    add: s.add,
                                    del: s.del,
                                });
                            }
                        }
                        out.push(merged);
                    }
                }
            }
        }
    }

    /// Call `f` once per binding of `params` (appended to `env`, removed after).
    fn for_each_binding(
        &mut self,
        params: &[Param],
        env: &mut Vec<(String, ObjId)>,
        f: &mut BindingFn<'_>,
    ) {
        match params.split_first() {
            None => f(self, env),
            Some((p, rest)) => {
                for o in self.objects_of(&p.types) {
                    env.push((p.name.clone(), o));
                    self.for_each_binding(rest, env, f);
                    env.pop();
                }
            }
        }
    }

    fn objects_of(&self, types: &[TypeId]) -> Vec<ObjId> {
        (0..self.objects.len() as ObjId)
            .filter(|&o| self.domain.fits(self.object_types[o as usize], types))
            .collect()
    }

    fn term(&self, t: &Term, env: &[(String, ObjId)]) -> ObjId {
        match t {
            Term::Var(v) => env
                .iter()
                .rev()
                .find(|(n, _)| n == v)
                .map(|(_, o)| *o)
                .expect("variables were checked when the domain was parsed"),
            Term::Object(o) => self.object_ids[o],
        }
    }

    fn ground_atom(&self, a: &Atom, env: &[(String, ObjId)]) -> GroundAtom {
        GroundAtom {
            pred: a.pred,
            args: a.args.iter().map(|t| self.term(t, env)).collect(),
        }
    }

    fn intern(&mut self, ga: GroundAtom) -> AtomId {
        if let Some(id) = self.atom_ids.get(&ga) {
            return *id;
        }
        let id = self.atoms.len() as AtomId;
        self.derived.push(self.domain.predicates[ga.pred].derived);
        self.atoms.push(ga.clone());
        self.atom_ids.insert(ga, id);
        id
    }

    /// Ground `f` under `env`; `positive = false` grounds its negation.
    fn cond(&mut self, f: &Formula, env: &mut Vec<(String, ObjId)>, positive: bool) -> Cond {
        match f {
            Formula::True => {
                if positive {
                    Cond::True
                } else {
                    Cond::False
                }
            }
            Formula::Atom(a) => {
                let ga = self.ground_atom(a, env);
                if self.fluent[a.pred] {
                    Cond::Lit(self.intern(ga), positive)
                } else if self.static_true.contains(&ga) == positive {
                    Cond::True
                } else {
                    Cond::False
                }
            }
            Formula::Equal(a, b) => {
                if (self.term(a, env) == self.term(b, env)) == positive {
                    Cond::True
                } else {
                    Cond::False
                }
            }
            Formula::Not(f) => self.cond(f, env, !positive),
            Formula::And(v) | Formula::Or(v) => {
                let parts = v.iter().map(|f| self.cond(f, env, positive)).collect();
                if matches!(f, Formula::And(_)) == positive {
                    Cond::and(parts)
                } else {
                    Cond::or(parts)
                }
            }
            Formula::Imply(a, b) => {
                let na = self.cond(a, env, !positive);
                let b = self.cond(b, env, positive);
                if positive {
                    Cond::or(vec![na, b])
                } else {
                    Cond::and(vec![na, b])
                }
            }
            Formula::Exists(params, body) | Formula::Forall(params, body) => {
                let mut parts = Vec::new();
                let body = (**body).clone();
                let params = params.clone();
                self.for_each_binding(&params, env, &mut |t, env| {
                    parts.push(t.cond(&body, env, positive));
                });
                if matches!(f, Formula::Forall(..)) == positive {
                    Cond::and(parts)
                } else {
                    Cond::or(parts)
                }
            }
        }
    }

    /// Evaluate every derived atom of `state` (others are kept) and return it.
    pub fn close<'s>(&self, state: &'s mut State) -> &'s mut State {
        if self.axioms.is_empty() {
            return state;
        }
        for (i, d) in self.derived.iter().enumerate() {
            if *d {
                state.set(i as AtomId, false);
            }
        }
        let all: Vec<usize> = (0..self.axioms.len()).collect();
        self.close_with(&all, state)
    }

    /// Evaluate the heads of `axioms` (indices into [`Task::axioms`], in stratum order) in
    /// `state` from scratch; other derived atoms are kept as they are.
    pub fn close_with<'s>(&self, axioms: &[usize], state: &'s mut State) -> &'s mut State {
        for ax in axioms {
            state.set(self.axioms[*ax].head, false);
        }
        let mut start = 0;
        while start < axioms.len() {
            let s = self.axioms[axioms[start]].stratum;
            let end = start
                + axioms[start..]
                    .iter()
                    .take_while(|a| self.axioms[**a].stratum == s)
                    .count();
            loop {
                let mut changed = false;
                for ax in &axioms[start..end] {
                    let ax = &self.axioms[*ax];
                    if !state.get(ax.head) && ax.body.holds(state) {
                        state.set(ax.head, true);
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            start = end;
        }
        state
    }

    /// The axioms a search for `goal` needs (indices into [`Task::axioms`], in stratum order):
    /// those whose head `goal`, an action's precondition or effect condition, or the body of
    /// another needed axiom reads. The rest (an observation model's `sees`, say) cannot change
    /// which plans exist, and skipping them is Fast Downward's relevance analysis.
    pub fn relevant_axioms(&self, goal: &Cond) -> Vec<usize> {
        let mut needed = vec![false; self.atoms.len()];
        let mut stack = Vec::new();
        let read = |c: &Cond, stack: &mut Vec<AtomId>| c.for_each_atom(&mut |a| stack.push(a));
        read(goal, &mut stack);
        for a in &self.actions {
            read(&a.pre, &mut stack);
            for e in &a.effects {
                read(&e.cond, &mut stack);
            }
        }
        let mut by_head: HashMap<AtomId, Vec<usize>> = HashMap::new();
        for (i, ax) in self.axioms.iter().enumerate() {
            by_head.entry(ax.head).or_default().push(i);
        }
        while let Some(a) = stack.pop() {
            if std::mem::replace(&mut needed[a as usize], true) {
                continue;
            }
            for ax in by_head.get(&a).into_iter().flatten() {
                read(&self.axioms[*ax].body, &mut stack);
            }
        }
        (0..self.axioms.len())
            .filter(|i| needed[self.axioms[*i].head as usize])
            .collect()
    }

    /// The world's own dynamics on `state`: every applicable ground action of a schema named in
    /// `dynamics` (a skill binding's), one at a time, until none applies.
    pub fn settle(&self, dynamics: &[String], mut state: State) -> State {
        if dynamics.is_empty() {
            return state;
        }
        // Each firing changes the state; a dynamics action that undoes itself would cycle, so
        // at most one firing per ground action.
        for _ in 0..=self.actions.len() {
            let next = (0..self.actions.len()).find(|a| {
                dynamics.contains(&self.domain.actions[self.actions[*a].schema].name)
                    && self.applicable(*a, &state)
            });
            match next {
                Some(a) => state = self.apply(a, &state),
                None => break,
            }
        }
        state
    }

    /// Whether action `a` applies in `state`.
    pub fn applicable(&self, a: usize, state: &State) -> bool {
        self.actions[a].pre.holds(state)
    }

    /// The successor of `state` under action `a` (assumed applicable): conditional effects are
    /// evaluated in `state`, deletes before adds, derived atoms re-evaluated.
    pub fn apply(&self, a: usize, state: &State) -> State {
        let mut next = self.apply_effects(a, state);
        self.close(&mut next);
        next
    }

    /// As [`Task::apply`], re-evaluating only the derived atoms of `axioms` (a search's
    /// [`Task::relevant_axioms`]).
    pub fn apply_with(&self, a: usize, state: &State, axioms: &[usize]) -> State {
        let mut next = self.apply_effects(a, state);
        self.close_with(axioms, &mut next);
        next
    }

    fn apply_effects(&self, a: usize, state: &State) -> State {
        let mut next = state.clone();
        let act = &self.actions[a];
        let fired: Vec<&CondEffect> = act.effects.iter().filter(|e| e.cond.holds(state)).collect();
        for e in &fired {
            for d in &e.del {
                next.set(*d, false);
            }
        }
        for e in &fired {
            for d in &e.add {
                next.set(*d, true);
                // An atom both added and deleted ends up true: so its complement is false.
                if let Some(Some(c)) = self.complement.get(*d as usize) {
                    next.set(*c, false);
                }
            }
        }
        next
    }

    /// A ground condition as PDDL text, e.g. `(and (on lamp) (not (dark kitchen)))`.
    pub fn cond_text(&self, c: &Cond) -> String {
        match c {
            Cond::True => "(and)".into(),
            Cond::False => "(or)".into(),
            Cond::Lit(a, v) => self.literal_text(*a, *v),
            Cond::And(v) | Cond::Or(v) => {
                let op = if matches!(c, Cond::And(_)) {
                    "and"
                } else {
                    "or"
                };
                let parts: Vec<String> = v.iter().map(|c| self.cond_text(c)).collect();
                format!("({op} {})", parts.join(" "))
            }
        }
    }

    /// The id of a ground atom given by names, e.g. `("holding", ["robot_1", "apple"])`.
    pub fn atom_id(&self, pred: &str, args: &[&str]) -> Option<AtomId> {
        let pred = self.domain.predicate(pred)?;
        let args = args
            .iter()
            .map(|a| self.object_ids.get(*a).copied())
            .collect::<Option<Vec<_>>>()?;
        self.atom_ids.get(&GroundAtom { pred, args }).copied()
    }

    /// Whether `(pred args...)` holds in `state`: a static fact as in the initial state, a fluent
    /// or derived one as `state` says (an atom no action, axiom or initial fact mentions is false).
    pub fn holds(&self, pred: &str, args: &[&str], state: &State) -> bool {
        let Some(p) = self.domain.predicate(pred) else {
            return false;
        };
        let Some(args) = args
            .iter()
            .map(|a| self.object_ids.get(*a).copied())
            .collect::<Option<Vec<_>>>()
        else {
            return false;
        };
        let ga = GroundAtom { pred: p, args };
        if self.fluent[p] {
            self.atom_ids.get(&ga).is_some_and(|a| state.get(*a))
        } else {
            self.static_true.contains(&ga)
        }
    }

    /// The object named `name`.
    pub fn object(&self, name: &str) -> Option<ObjId> {
        self.object_ids.get(name).copied()
    }

    /// A ground atom in PDDL notation, e.g. `(holding robot_1 apple)`.
    pub fn atom_text(&self, a: AtomId) -> String {
        if let Some(Some(x)) = self.negates.get(a as usize) {
            return format!("(not {})", self.atom_text(*x));
        }
        let ga = &self.atoms[a as usize];
        let mut s = format!("({}", self.domain.predicates[ga.pred].name);
        for o in &ga.args {
            s.push(' ');
            s.push_str(&self.objects[*o as usize]);
        }
        s.push(')');
        s
    }

    /// A literal in PDDL notation, `(p a)` or `(not (p a))`.
    pub fn literal_text(&self, a: AtomId, positive: bool) -> String {
        if positive {
            self.atom_text(a)
        } else {
            format!("(not {})", self.atom_text(a))
        }
    }

    /// Action `a` in the IPC plan format, e.g. `(pick ball1 rooma left)`.
    pub fn action_text(&self, a: usize) -> String {
        ActionText(self, a).to_string()
    }

    /// The schema name and object names of action `a`.
    pub fn action_call(&self, a: usize) -> (&str, Vec<&str>) {
        let act = &self.actions[a];
        (
            &self.domain.actions[act.schema].name,
            act.args
                .iter()
                .map(|o| self.objects[*o as usize].as_str())
                .collect(),
        )
    }

    /// The ground action for a schema name and object names, if it is reachable.
    pub fn find_action(&self, name: &str, args: &[&str]) -> Option<usize> {
        let schema = self.domain.actions.iter().position(|s| s.name == name)?;
        let args = args
            .iter()
            .map(|a| self.object_ids.get(*a).copied())
            .collect::<Option<Vec<_>>>()?;
        self.actions
            .iter()
            .position(|a| a.schema == schema && a.args == args)
    }
}

struct ActionText<'a>(&'a Task, usize);

impl fmt::Display for ActionText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, args) = self.0.action_call(self.1);
        write!(f, "({name}")?;
        for a in args {
            write!(f, " {a}")?;
        }
        f.write_str(")")
    }
}

/// Per parameter depth, the static conjuncts of the precondition (atoms of static predicates
/// and equalities, with their polarity) whose variables are all bound at that depth.
fn static_checks(t: &Task, schema: &ActionSchema) -> Vec<Vec<(Formula, bool)>> {
    let mut out = vec![Vec::new(); schema.params.len() + 1];
    let mut conj = Vec::new();
    flatten(&schema.precondition, true, &mut conj);
    for (f, pos) in conj {
        let vars: Vec<&String> = match &f {
            Formula::Atom(a) if !t.fluent[a.pred] => a.args.iter().filter_map(var).collect(),
            Formula::Equal(a, b) => [a, b].into_iter().filter_map(var).collect(),
            _ => continue,
        };
        let depth = vars
            .iter()
            .map(|v| schema.params.iter().position(|p| &p.name == *v))
            .collect::<Option<Vec<_>>>()
            .map(|d| d.into_iter().max().unwrap_or(0));
        if let Some(d) = depth {
            out[d].push((f.clone(), pos));
        }
    }
    out
}

fn var(t: &Term) -> Option<&String> {
    match t {
        Term::Var(v) => Some(v),
        Term::Object(_) => None,
    }
}

fn flatten(f: &Formula, pos: bool, out: &mut Vec<(Formula, bool)>) {
    match f {
        Formula::And(v) if pos => v.iter().for_each(|f| flatten(f, pos, out)),
        Formula::Or(v) if !pos => v.iter().for_each(|f| flatten(f, pos, out)),
        Formula::Not(f) => flatten(f, !pos, out),
        Formula::Atom(_) | Formula::Equal(..) => out.push((f.clone(), pos)),
        _ => {}
    }
}
