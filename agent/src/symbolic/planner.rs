//! The search planner: goal predicates + belief → subgoal and skill calls.
//!
//! Subgoals follow the task's goal order, one object at a time (CLEA's subgoal decomposition):
//! - the object's place is unknown → *find it*: make the nearest receptacle whose contents were
//!   never seen visible (then the ones seen longest ago), and stop there, because what comes next
//!   depends on the observation; once every receptacle was looked into [`GIVE_UP_SWEEPS`] times
//!   without seeing the object (since it went missing, or since the episode began), it is
//!   nowhere to be found and the planner says so instead of searching in circles until the step
//!   budget (one sweep is not enough: people move things into places already searched);
//! - otherwise → the shortest action sequence (breadth-first over the pool's preconditions and
//!   effects) that makes all of the object's goal predicates hold.
//!
//! The plan carries the first `max_actions` calls of that sequence (1–5 in CLEA's loop; the
//! whole task in open-loop mode, which chains subgoals over predicted states).

use crate::belief::BeliefView;
use crate::modules::{ModuleError, Planner};
use crate::symbolic::search::{Node, Problem};
use async_trait::async_trait;
use clea_bus::msg::{Plan, PlanRequest, WorldVocabulary};
use clea_skills::{Action, Goal, Location, WorldState};
use std::collections::{BTreeMap, BTreeSet};

/// Full sweeps of every receptacle without seeing an object after which the planner gives up.
pub const GIVE_UP_SWEEPS: u32 = 2;

/// Deepest search, in actions (the kitchen's longest subgoal needs 12).
const MAX_DEPTH: usize = 40;

/// The breadth-first search planner.
#[derive(Debug, Default, Clone)]
pub struct SearchPlanner;

/// One chosen subgoal and its action sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subgoal {
    /// Text, e.g. `find apple: look into refrigerator`.
    pub text: String,
    /// Actions, complete for the subgoal.
    pub actions: Vec<Action>,
    /// Whether it is an exploration (the plan must stop after it to observe).
    pub explores: bool,
}

#[async_trait]
impl Planner for SearchPlanner {
    async fn plan(&mut self, req: &PlanRequest) -> Result<Plan, ModuleError> {
        let vocab = &req.task.vocabulary;
        let goals = req
            .task
            .goals
            .iter()
            .map(|g| Goal::parse(g, vocab))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ModuleError::BadRequest(format!("task goal: {e}")))?;
        let view = BeliefView::new(&req.belief, vocab);
        plan_from(
            vocab,
            &goals,
            &view,
            req.max_actions.max(1) as usize,
            req.belief.step,
        )
    }
}

/// Plan on a belief view (pure; see the module doc).
///
/// # Errors
/// [`ModuleError::NoAnswer`] when no action sequence reaches the next subgoal.
pub fn plan_from(
    vocab: &WorldVocabulary,
    goals: &[Goal],
    view: &BeliefView,
    max_actions: usize,
    step: u32,
) -> Result<Plan, ModuleError> {
    let mut state = view.state.clone();
    let mut searched = view.searched.clone();
    let mut actions: Vec<Action> = Vec::new();
    let mut subgoals: Vec<String> = Vec::new();
    while actions.len() < max_actions {
        let Some(sub) = next_subgoal(vocab, goals, &state, &searched, &view.unseen_sweeps)? else {
            break;
        };
        subgoals.push(sub.text.clone());
        for a in &sub.actions {
            state.apply(a);
            state.settle(vocab);
        }
        actions.extend(sub.actions);
        if sub.explores || max_actions <= 5 {
            break;
        }
        // Chaining (open-loop): what the plan will have seen counts as searched.
        let s = step + actions.len() as u32;
        for r in &vocab.receptacles {
            if visible(vocab, &state, &r.name) {
                searched.insert(r.name.clone(), s);
            }
        }
    }
    if subgoals.is_empty() {
        return Ok(Plan {
            step,
            subgoal: "task complete".into(),
            actions: Vec::new(),
            done: true,
            reasoning: "every goal predicate holds in the belief".into(),
            usage: None,
        });
    }
    actions.truncate(max_actions);
    Ok(Plan {
        step,
        subgoal: subgoals[0].clone(),
        reasoning: format!(
            "subgoals: {}; breadth-first search over the skill pool",
            subgoals.join(" | ")
        ),
        actions: actions.iter().map(Action::to_call).collect(),
        done: false,
        usage: None,
    })
}

fn visible(vocab: &WorldVocabulary, s: &WorldState, rec: &str) -> bool {
    s.accessible(vocab, rec) == Some(true)
        && vocab
            .robots
            .iter()
            .any(|r| s.reaches(vocab, &r.name, rec) == Some(true))
}

/// The next unmet subgoal on `state`, or `None` when every goal holds. `searched`: when each
/// receptacle's contents were last seen; `unseen_sweeps`: objects of unknown location with the
/// full sweeps of every receptacle that did not see them.
///
/// # Errors
/// [`ModuleError::NoAnswer`] when no action sequence reaches it, or when its object must be
/// found and [`GIVE_UP_SWEEPS`] sweeps did not see it.
pub fn next_subgoal(
    vocab: &WorldVocabulary,
    goals: &[Goal],
    state: &WorldState,
    searched: &BTreeMap<String, u32>,
    unseen_sweeps: &BTreeMap<String, u32>,
) -> Result<Option<Subgoal>, ModuleError> {
    let believed: BTreeMap<String, String> = state
        .location
        .iter()
        .map(|(o, l)| (o.clone(), l.to_string()))
        .collect();
    let Some(first) = goals
        .iter()
        .find(|g| g.holds(state, &believed) != Some(true))
    else {
        return Ok(None);
    };
    let object = first.object().to_string();
    let own: Vec<&Goal> = goals.iter().filter(|g| g.object() == object).collect();
    // Movable: the subgoal's object and whatever robots hold (to free a hand).
    let mut movable: BTreeSet<String> = BTreeSet::from([object.clone()]);
    for (o, l) in &state.location {
        if matches!(l, Location::HeldBy(_)) {
            movable.insert(o.clone());
        }
    }
    let movable: Vec<String> = movable.into_iter().collect();
    let p = Problem::new(vocab, movable).map_err(|e| ModuleError::NoAnswer(e.to_string()))?;
    let start = p.node(state);
    let i = p.object(&object).expect("object is movable");
    let known = matches!(
        state.location.get(&object),
        Some(Location::In(_) | Location::HeldBy(_))
    );
    if !known {
        let sweeps = unseen_sweeps.get(&object).copied().unwrap_or(0);
        if sweeps >= GIVE_UP_SWEEPS {
            return Err(ModuleError::NoAnswer(format!(
                "{object} is nowhere to be found: every receptacle was looked into {sweeps} times \
                 without seeing it"
            )));
        }
        return explore(vocab, &p, start, state, searched, &object).map(Some);
    }
    let targets: Vec<(Option<u8>, bool)> = own
        .iter()
        .filter_map(|g| match g {
            Goal::At { receptacle, .. } => Some((p.receptacle(receptacle), false)),
            Goal::Roasted { .. } => Some((None, true)),
            Goal::Found { .. } => None,
        })
        .collect();
    let goal = |n: &Node| {
        targets.iter().all(|(rec, roast)| match (rec, roast) {
            (Some(r), _) => p.is_in(n, i, *r),
            (None, true) => p.is_roasted(n, i),
            _ => true,
        })
    };
    let text = own
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    match p.search(start, goal, MAX_DEPTH) {
        Some(actions) => Ok(Some(Subgoal {
            text,
            actions,
            explores: false,
        })),
        None => Err(ModuleError::NoAnswer(format!(
            "no action sequence of at most {MAX_DEPTH} skills achieves {text}"
        ))),
    }
}

fn explore(
    vocab: &WorldVocabulary,
    p: &Problem,
    start: Node,
    state: &WorldState,
    searched: &BTreeMap<String, u32>,
    object: &str,
) -> Result<Subgoal, ModuleError> {
    // Unsearched receptacles first; then those seen longest ago (people move things).
    let current: Vec<&str> = vocab
        .receptacles
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| !visible(vocab, state, r))
        .collect();
    let unsearched: Vec<u8> = current
        .iter()
        .filter(|r| !searched.contains_key(**r))
        .filter_map(|r| p.receptacle(r))
        .collect();
    let mut by_age: Vec<&str> = current
        .iter()
        .copied()
        .filter(|r| searched.contains_key(*r))
        .collect();
    by_age.sort_by_key(|r| searched[*r]);
    let mut classes: Vec<Vec<u8>> = vec![unsearched];
    if let Some(oldest) = by_age.first() {
        let s = searched[*oldest];
        classes.push(
            by_age
                .iter()
                .filter(|r| searched[**r] == s)
                .filter_map(|r| p.receptacle(r))
                .collect(),
        );
        classes.push(by_age.iter().filter_map(|r| p.receptacle(r)).collect());
    }
    for class in classes.iter().filter(|c| !c.is_empty()) {
        let goal = |n: &Node| class.iter().any(|r| p.visible(n, *r));
        if let Some(actions) = p.search(start, goal, MAX_DEPTH) {
            let end = actions.iter().fold(state.clone(), |mut s, a| {
                s.apply(a);
                s
            });
            let seen: Vec<&str> = vocab
                .receptacles
                .iter()
                .map(|r| r.name.as_str())
                .filter(|r| visible(vocab, &end, r) && !visible(vocab, state, r))
                .collect();
            return Ok(Subgoal {
                text: format!("find {object}: look into {}", seen.join(", ")),
                actions,
                explores: true,
            });
        }
    }
    Err(ModuleError::NoAnswer(format!(
        "{object} is nowhere the robots can look"
    )))
}
