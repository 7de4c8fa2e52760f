//! A planner-error model: the errors language-model planners make, injected into a correct
//! planner's plans at a configured, seeded rate, so the critic and the closed loop can be
//! measured without a GPU.
//!
//! The kinds are the failure modes CLEA (arXiv 2503.00729, Sec. IV) and Embodied Agent
//! Interface report for LLM planners: a call that does not parse against the skill pool, an
//! object that does not exist, a container used without opening it, a skill given to the wrong
//! robot, an object fetched from where it no longer is, and a done claim before the goal holds.
//! [`corrupt`] is pure (plan, request, random source → plan); [`ErrorPlanner`] wraps any
//! [`Planner`] with it.

use crate::modules::{ModuleError, Planner};
use async_trait::async_trait;
use clea_bus::msg::{Plan, PlanRequest, SkillCall};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// One kind of planner error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlannerError {
    /// A call missing one of its arguments (a reply that does not fit the schema).
    InvalidCall,
    /// An object argument renamed to something the world does not have.
    HallucinatedObject,
    /// The plan's `open` call left out: the next call uses a closed container.
    SkippedOpen,
    /// A call's robot swapped for another robot of the team.
    WrongRobot,
    /// A pick from a receptacle other than the one the plan picks from (a stale location).
    StaleLocation,
    /// Done claimed, with no actions, while the plan still had some.
    PrematureDone,
}

impl PlannerError {
    /// Every kind, in a fixed order.
    pub const ALL: [PlannerError; 6] = [
        PlannerError::InvalidCall,
        PlannerError::HallucinatedObject,
        PlannerError::SkippedOpen,
        PlannerError::WrongRobot,
        PlannerError::StaleLocation,
        PlannerError::PrematureDone,
    ];

    /// Short name, e.g. `wrong_robot`.
    pub fn name(self) -> &'static str {
        match self {
            PlannerError::InvalidCall => "invalid_call",
            PlannerError::HallucinatedObject => "hallucinated_object",
            PlannerError::SkippedOpen => "skipped_open",
            PlannerError::WrongRobot => "wrong_robot",
            PlannerError::StaleLocation => "stale_location",
            PlannerError::PrematureDone => "premature_done",
        }
    }
}

/// The plan with an error of `kind`, or `None` where the plan offers no place for it (no
/// `open` to skip, one robot only, nothing picked). The world's names come from the request's
/// vocabulary; `rng` chooses among the places.
pub fn corrupt(
    plan: &Plan,
    req: &PlanRequest,
    kind: PlannerError,
    rng: &mut impl Rng,
) -> Option<Plan> {
    let vocab = &req.task.vocabulary;
    let mut out = plan.clone();
    if plan.done {
        return None;
    }
    match kind {
        PlannerError::PrematureDone => {
            out.actions.clear();
            out.done = true;
        }
        PlannerError::InvalidCall => {
            let i = index(out.actions.len(), rng)?;
            let call = &mut out.actions[i];
            let key = call.args.keys().find(|k| *k != "robot")?.clone();
            call.args.remove(&key);
        }
        PlannerError::HallucinatedObject => {
            let places: Vec<(usize, String)> = arg_places(&out.actions, |v| vocab.is_object(v));
            let (i, key) = places.get(index(places.len(), rng)?)?.clone();
            let name = out.actions[i].args[&key].as_str()?.to_string();
            out.actions[i]
                .args
                .insert(key, Value::String(format!("{name}_2")));
        }
        PlannerError::SkippedOpen => {
            let opens: Vec<usize> = (0..out.actions.len())
                .filter(|i| out.actions[*i].skill == "open")
                .collect();
            let i = opens[index(opens.len(), rng)?];
            out.actions.remove(i);
            if out.actions.is_empty() {
                return None;
            }
        }
        PlannerError::WrongRobot => {
            let i = index(out.actions.len(), rng)?;
            let call = &mut out.actions[i];
            let robot = call.robot()?.to_string();
            let others: Vec<&str> = vocab
                .robots
                .iter()
                .map(|r| r.name.as_str())
                .filter(|r| *r != robot)
                .collect();
            let other = others[index(others.len(), rng)?];
            call.args
                .insert("robot".into(), Value::String(other.to_string()));
        }
        PlannerError::StaleLocation => {
            let picks: Vec<usize> = (0..out.actions.len())
                .filter(|i| out.actions[*i].skill == "pick_from")
                .collect();
            let i = picks[index(picks.len(), rng)?];
            let call = &mut out.actions[i];
            let from = call.args.get("receptacle")?.as_str()?.to_string();
            let elsewhere: Vec<&str> = vocab
                .receptacles
                .iter()
                .map(|r| r.name.as_str())
                .filter(|r| *r != from)
                .collect();
            let other = elsewhere[index(elsewhere.len(), rng)?];
            call.args
                .insert("receptacle".into(), Value::String(other.to_string()));
        }
    }
    out.reasoning = format!("{} [planner error: {}]", out.reasoning, kind.name());
    Some(out)
}

/// A uniform index below `n`; `None` when `n` is 0.
fn index(n: usize, rng: &mut impl Rng) -> Option<usize> {
    (n > 0).then(|| rng.gen_range(0..n))
}

/// (call index, argument name) of every string argument for which `is` holds.
fn arg_places(calls: &[SkillCall], is: impl Fn(&str) -> bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        for (k, v) in &c.args {
            if v.as_str().is_some_and(&is) {
                out.push((i, k.clone()));
            }
        }
    }
    out
}

/// Errors at a rate: each plan gets one error with probability `rate`, of a kind drawn
/// uniformly among those the plan has a place for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorModel {
    /// Probability that a plan carries an error, in [0, 1].
    pub rate: f64,
    /// Seed of the random source (with the same seed and requests, the same errors).
    pub seed: u64,
}

/// A planner whose plans carry errors as an [`ErrorModel`] says.
pub struct ErrorPlanner<P> {
    inner: P,
    rate: f64,
    rng: ChaCha8Rng,
}

impl<P: Planner> ErrorPlanner<P> {
    /// Wrap `inner`.
    ///
    /// # Panics
    /// When `model.rate` is not in [0, 1] (callers check user input first).
    pub fn new(inner: P, model: ErrorModel) -> Self {
        assert!(
            (0.0..=1.0).contains(&model.rate),
            "planner error rate {} is not in [0, 1]",
            model.rate
        );
        Self {
            inner,
            rate: model.rate,
            rng: ChaCha8Rng::seed_from_u64(model.seed),
        }
    }

    /// The plan as `inner` makes it, perhaps with an error.
    fn maybe_corrupt(&mut self, plan: Plan, req: &PlanRequest) -> Plan {
        if !self.rng.gen_bool(self.rate) {
            return plan;
        }
        let mut kinds = PlannerError::ALL.to_vec();
        while !kinds.is_empty() {
            let k = kinds.remove(self.rng.gen_range(0..kinds.len()));
            if let Some(bad) = corrupt(&plan, req, k, &mut self.rng) {
                tracing::debug!(error = k.name(), "planner error injected");
                return bad;
            }
        }
        plan
    }
}

#[async_trait]
impl<P: Planner> Planner for ErrorPlanner<P> {
    async fn plan(&mut self, req: &PlanRequest) -> Result<Plan, ModuleError> {
        let plan = self.inner.plan(req).await?;
        Ok(self.maybe_corrupt(plan, req))
    }
}
