//! Goals about actions, not states: "the task must include a `watch`, then a `switch_off`".
//!
//! Benchmarks state some goals as actions that must occur, in order (Embodied Agent Interface's
//! action goals, e.g. `LOOKAT|WATCH`; in LTL `F(a ∧ F b)`), which a PDDL goal cannot say. They
//! are compiled into the domain before grounding, the standard way: one fresh 0-ary predicate
//! per required step, made true by any action of that step once the step before is done, and
//! the last one added to the goal. The planner, the critic and the belief then treat them as
//! ordinary facts.

use crate::error::{DomainError, ErrorKind};
use crate::lifted::{Atom, Domain, Effect, Formula, PredicateDecl, Problem};

/// The name of the fact that says step `k` (0-based) of the required actions is done.
pub fn step_predicate(k: usize) -> String {
    format!("clea-required-{k}")
}

/// Whether `name` is a predicate [`require_actions`] compiled in: the task's own bookkeeping,
/// false in the initial state and seen by no robot.
pub fn is_step_predicate(name: &str) -> bool {
    name.strip_prefix("clea-required-")
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// Require `steps` in order: step `k` is done by executing any action named in `steps[k]`
/// (with any arguments) after step `k - 1` is done. Adds the predicates to `domain`, the
/// effects to its actions and the last step to `problem`'s goal.
///
/// # Errors
/// [`ErrorKind::Undeclared`] naming an action that `domain` does not have;
/// [`ErrorKind::Duplicate`] when the domain already declares a `clea-required-*` predicate;
/// [`ErrorKind::Arity`] for a step that names no action.
pub fn require_actions(
    domain: &mut Domain,
    problem: &mut Problem,
    steps: &[Vec<String>],
) -> Result<(), DomainError> {
    if steps.is_empty() {
        return Ok(());
    }
    if domain
        .predicates
        .iter()
        .any(|p| p.name.starts_with("clea-required-"))
    {
        return Err(DomainError::new(
            ErrorKind::Duplicate,
            "required actions",
            "already compiled into this domain",
        ));
    }
    let first = domain.predicates.len();
    for k in 0..steps.len() {
        domain.predicates.push(PredicateDecl {
            name: step_predicate(k),
            params: Vec::new(),
            derived: false,
        });
    }
    let atom = |k: usize| Atom {
        pred: first + k,
        args: Vec::new(),
    };
    for (k, names) in steps.iter().enumerate() {
        if names.is_empty() {
            return Err(DomainError::new(
                ErrorKind::Arity,
                format!("required step {k}"),
                "names no action",
            ));
        }
        for name in names {
            let Some(action) = domain.actions.iter_mut().find(|a| a.name == *name) else {
                return Err(DomainError::new(
                    ErrorKind::Undeclared,
                    format!("required step {k}"),
                    format!("the domain has no action {name:?}"),
                ));
            };
            action.effects.push(if k == 0 {
                Effect::Add(atom(0))
            } else {
                Effect::When(Formula::Atom(atom(k - 1)), vec![Effect::Add(atom(k))])
            });
        }
    }
    let last = Formula::Atom(atom(steps.len() - 1));
    problem.goal = match std::mem::replace(&mut problem.goal, Formula::True) {
        Formula::True => last,
        Formula::And(mut v) => {
            v.push(last);
            Formula::And(v)
        }
        g => Formula::And(vec![g, last]),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::plan;
    use crate::{parse_domain, parse_problem, Task};

    const DOMAIN: &str = r#"(define (domain tv) (:requirements :typing)
      (:types thing)
      (:predicates (near ?t - thing) (on ?t - thing))
      (:action walk :parameters (?t - thing) :effect (near ?t))
      (:action switch_on :parameters (?t - thing) :precondition (near ?t) :effect (on ?t))
      (:action switch_off :parameters (?t - thing) :precondition (near ?t) :effect (not (on ?t)))
      (:action watch :parameters (?t - thing) :precondition (and (near ?t) (on ?t)) :effect (and))
      (:action look_at :parameters (?t - thing) :precondition (near ?t) :effect (and)))"#;

    fn task(goal: &str, steps: &[&[&str]]) -> Result<Task, DomainError> {
        let mut d = parse_domain(DOMAIN)?;
        let mut p = parse_problem(
            &d,
            &format!(
                "(define (problem p) (:domain tv) (:objects tv - thing) (:init) (:goal {goal}))"
            ),
        )?;
        let steps: Vec<Vec<String>> = steps
            .iter()
            .map(|s| s.iter().map(|n| n.to_string()).collect())
            .collect();
        require_actions(&mut d, &mut p, &steps)?;
        Task::ground(&d, &p)
    }

    fn plan_text(t: &Task) -> Vec<String> {
        let p = plan(t, &Default::default()).expect("a plan");
        p.actions.iter().map(|a| t.action_text(*a)).collect()
    }

    #[test]
    fn an_action_with_no_effect_is_planned_when_required() {
        let t = task("(and)", &[&["look_at"]]).unwrap();
        assert_eq!(plan_text(&t), ["(walk tv)", "(look_at tv)"]);
    }

    #[test]
    fn required_steps_come_in_order_and_either_action_of_a_step_counts() {
        // watch needs the tv on; then switch_off must come after it.
        let t = task("(and)", &[&["watch", "look_at"], &["switch_off"]]).unwrap();
        let p = plan_text(&t);
        let off = p
            .iter()
            .position(|a| a == "(switch_off tv)")
            .expect("switch_off");
        let seen = p
            .iter()
            .position(|a| a == "(watch tv)" || a == "(look_at tv)")
            .expect("watch or look_at");
        assert!(seen < off, "{p:?}");
    }

    #[test]
    fn state_goals_are_kept_beside_the_required_actions() {
        let t = task("(on tv)", &[&["look_at"]]).unwrap();
        let p = plan_text(&t);
        assert!(p.contains(&"(switch_on tv)".to_string()), "{p:?}");
        assert!(p.contains(&"(look_at tv)".to_string()), "{p:?}");
    }

    #[test]
    fn an_unknown_action_is_named() {
        let e = task("(and)", &[&["dance"]]).unwrap_err();
        assert!(e.to_string().contains("\"dance\""), "{e}");
    }
}
