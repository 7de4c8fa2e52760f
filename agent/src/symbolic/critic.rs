//! The rule critic: checks one proposed action against the latest belief (preconditions, robot
//! capabilities, objects that are not where the plan assumed, redundant actions), or the claim
//! that the task is done against the goal predicates.

use crate::belief::BeliefView;
use crate::modules::{Critic, ModuleError};
use async_trait::async_trait;
use clea_bus::msg::{CritiqueRequest, Observation, Verdict, WorldVocabulary};
use clea_skills::{validate, Action, Check, Goal};

/// The rule critic.
#[derive(Debug, Default, Clone)]
pub struct RuleCritic;

#[async_trait]
impl Critic for RuleCritic {
    async fn judge(&mut self, req: &CritiqueRequest) -> Result<Verdict, ModuleError> {
        let vocab = &req.task.vocabulary;
        let view = BeliefView::new(&req.belief, vocab);
        let (feasible, feedback) = match &req.action {
            None => judge_done(vocab, &req.task.goals, &view)?,
            Some(call) => match validate(call, vocab) {
                Err(e) => (false, format!("invalid call: {e}")),
                Ok(a) => match contradicted_by(&req.observation, &a) {
                    Some(why) => (false, format!("{a} is not feasible: {why}")),
                    None => judge_action(vocab, &view, &a),
                },
            },
        };
        Ok(Verdict {
            step: req.belief.step,
            action: req.judged(),
            feasible,
            feedback,
            usage: None,
        })
    }
}

/// What the latest observation shows against `a`: an object to pick that is not among the
/// visible contents of its receptacle, even where the belief does not know where it is.
pub fn contradicted_by(o: &Observation, a: &Action) -> Option<String> {
    let Action::PickFrom {
        object, receptacle, ..
    } = a
    else {
        return None;
    };
    let views = o.robots.iter().flat_map(|r| &r.in_view);
    views
        .filter(|v| v.receptacle == *receptacle && v.contents_visible)
        .find(|v| !v.objects.iter().any(|x| x.object == *object))
        .map(|_| format!("{object} is not in {receptacle} (its contents are in view)"))
}

/// Judge one validated action on the belief: its preconditions, then whether it changes
/// anything (an action whose predicted state, end-of-step dynamics included, equals the current
/// one is redundant; waiting one step for the oven to roast is not).
pub fn judge_action(vocab: &WorldVocabulary, view: &BeliefView, a: &Action) -> (bool, String) {
    match view.state.check(vocab, a) {
        Check::Holds => {}
        Check::Fails(u) => {
            // The repair comes from the belief: what the planner can do about it.
            let repair = view.state.repair(vocab, a).map(|r| format!("; {r}"));
            return (
                false,
                format!(
                    "{a} is not feasible: {}{}",
                    u.reason,
                    repair.unwrap_or_default()
                ),
            );
        }
        Check::Unknown(l) => {
            return (
                true,
                format!("{a} is plausible; the belief does not know {l}"),
            );
        }
    }
    let mut next = view.state.clone();
    next.apply(a);
    next.settle(vocab);
    if next == view.state {
        return (false, format!("{a} is redundant: it changes nothing"));
    }
    (true, format!("{a} is feasible"))
}

/// Agree that the task is done only if every goal predicate holds in the belief.
///
/// # Errors
/// [`ModuleError::BadRequest`] for goals that do not parse.
pub fn judge_done(
    vocab: &WorldVocabulary,
    goals: &[String],
    view: &BeliefView,
) -> Result<(bool, String), ModuleError> {
    let believed = view.believed_locations();
    let mut unmet = Vec::new();
    for g in goals {
        let goal = Goal::parse(g, vocab).map_err(|e| ModuleError::BadRequest(e.to_string()))?;
        if goal.holds(&view.state, &believed) != Some(true) {
            unmet.push(goal.to_string());
        }
    }
    Ok(if unmet.is_empty() {
        (true, "every goal predicate holds in the belief".into())
    } else {
        (
            false,
            format!("not done: {} do not hold in the belief", unmet.join(", ")),
        )
    })
}
