//! Skill calls against a bound domain: validation (the gate between model text and a robot),
//! the rule critic's precondition check, and the JSON schema that lets a model say only calls of
//! the domain's skills over the world's objects.

use crate::binding::Binding;
use crate::ground::Task;
use crate::lifted::{Formula, Term};
use crate::state::State;
use std::collections::BTreeMap;

/// Variable → object name bindings, innermost last.
type Names = Vec<(String, String)>;

/// A skill call that validated: a skill of the binding, every parameter bound to an object of
/// its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Action (skill) name.
    pub skill: String,
    /// Objects in parameter order.
    pub args: Vec<String>,
    /// The acting robot (the binding's robot parameter).
    pub robot: String,
}

impl std::fmt::Display for Call {
    /// The paper's notation, `pick_from(robot_1, apple, table)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.skill, self.args.join(", "))
    }
}

/// Why a skill call is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Not a skill of the binding (world dynamics are not skills either).
    #[error("unknown skill {name:?} (the skills are {skills})")]
    UnknownSkill {
        /// The name given.
        name: String,
        /// The binding's skills, comma-separated.
        skills: String,
    },
    /// A parameter without a value.
    #[error("{skill}: missing argument {param:?}")]
    MissingArgument {
        /// Skill.
        skill: String,
        /// Parameter.
        param: String,
    },
    /// An argument the skill does not have.
    #[error("{skill}: unknown argument {arg:?}")]
    UnknownArgument {
        /// Skill.
        skill: String,
        /// The argument name given.
        arg: String,
    },
    /// A value that is not an object of the world.
    #[error("{skill}: {param} = {value:?} is not an object of this world")]
    UnknownObject {
        /// Skill.
        skill: String,
        /// Parameter.
        param: String,
        /// The value given.
        value: String,
    },
    /// An object of the wrong type.
    #[error("{skill}: {param} = {value:?} is of type {actual}, not {expected}")]
    WrongType {
        /// Skill.
        skill: String,
        /// Parameter.
        param: String,
        /// The value given.
        value: String,
        /// The type(s) the parameter takes.
        expected: String,
        /// The object's type.
        actual: String,
    },
}

/// Validate a call given by parameter name (`{"r": "robot_1", "x": "oven"}`).
///
/// # Errors
/// The first problem found as a [`CallError`]: unknown skill, missing or unknown argument, a
/// value that names no object or one of the wrong type.
pub fn validate_call(
    task: &Task,
    binding: &Binding,
    skill: &str,
    args: &BTreeMap<String, String>,
) -> Result<Call, CallError> {
    let (schema, bound) = match (task.domain.action(skill), binding.actions.get(skill)) {
        (Some(s), Some(b)) => (s, b),
        _ => {
            return Err(CallError::UnknownSkill {
                name: skill.to_string(),
                skills: binding
                    .actions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    if let Some(arg) = args
        .keys()
        .find(|k| !schema.params.iter().any(|p| &p.name == *k))
    {
        return Err(CallError::UnknownArgument {
            skill: skill.into(),
            arg: arg.clone(),
        });
    }
    let mut values = Vec::new();
    for p in &schema.params {
        let v = args
            .get(&p.name)
            .ok_or_else(|| CallError::MissingArgument {
                skill: skill.into(),
                param: p.name.clone(),
            })?;
        let o = task.object(v).ok_or_else(|| CallError::UnknownObject {
            skill: skill.into(),
            param: p.name.clone(),
            value: v.clone(),
        })?;
        let t = task.object_types[o as usize];
        if !task.domain.fits(t, &p.types) {
            return Err(CallError::WrongType {
                skill: skill.into(),
                param: p.name.clone(),
                value: v.clone(),
                expected: p
                    .types
                    .iter()
                    .map(|t| task.domain.types[*t].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                actual: task.domain.types[t].name.clone(),
            });
        }
        values.push(v.clone());
    }
    let robot = args[&bound.robot].clone();
    Ok(Call {
        skill: skill.into(),
        args: values,
        robot,
    })
}

/// Validate a call given positionally, `pick_from(robot_1, apple, table)` as
/// `("pick_from", ["robot_1", "apple", "table"])`.
///
/// # Errors
/// As [`validate_call`]; too few arguments is a missing one, too many an unknown one.
pub fn validate_positional(
    task: &Task,
    binding: &Binding,
    skill: &str,
    args: &[&str],
) -> Result<Call, CallError> {
    let Some(schema) = task.domain.action(skill) else {
        return validate_call(task, binding, skill, &BTreeMap::new());
    };
    if args.len() > schema.params.len() {
        return Err(CallError::UnknownArgument {
            skill: skill.into(),
            arg: format!("#{}", schema.params.len() + 1),
        });
    }
    let named = schema
        .params
        .iter()
        .zip(args)
        .map(|(p, a)| (p.name.clone(), (*a).to_string()))
        .collect();
    validate_call(task, binding, skill, &named)
}

/// The critic's rule check of a valid call in `state`: `None` when its precondition holds, else
/// the first unmet conjunct of the precondition as PDDL text with the call's objects, e.g.
/// `(accessible refrigerator)` or `(not (open oven))` (the whole precondition if it is not a
/// conjunction).
pub fn unmet_precondition(task: &Task, state: &State, call: &Call) -> Option<String> {
    let schema = task.domain.action(&call.skill)?;
    let env: Vec<(String, String)> = schema
        .params
        .iter()
        .map(|p| p.name.clone())
        .zip(call.args.iter().cloned())
        .collect();
    let mut conj = Vec::new();
    flatten(&schema.precondition, &mut conj);
    conj.into_iter()
        .find(|f| !eval(task, state, f, &mut env.clone()))
        .map(|f| render(task, f, &env))
}

fn flatten<'a>(f: &'a Formula, out: &mut Vec<&'a Formula>) {
    match f {
        Formula::And(v) => v.iter().for_each(|f| flatten(f, out)),
        f => out.push(f),
    }
}

fn object<'e>(t: &'e Term, env: &'e [(String, String)]) -> &'e str {
    match t {
        Term::Object(o) => o,
        Term::Var(v) => env
            .iter()
            .rev()
            .find(|(n, _)| n == v)
            .map(|(_, o)| o.as_str())
            .unwrap_or(v),
    }
}

/// Evaluate a lifted formula in `state` (static facts as in the problem's initial state).
fn eval(task: &Task, state: &State, f: &Formula, env: &mut Vec<(String, String)>) -> bool {
    match f {
        Formula::True => true,
        Formula::Atom(a) => {
            let args: Vec<&str> = a.args.iter().map(|t| object(t, env)).collect();
            let pred = &task.domain.predicates[a.pred].name;
            task.holds(pred, &args, state)
        }
        Formula::Equal(a, b) => object(a, env) == object(b, env),
        Formula::Not(f) => !eval(task, state, f, env),
        Formula::And(v) => v.iter().all(|f| eval(task, state, f, env)),
        Formula::Or(v) => v.iter().any(|f| eval(task, state, f, env)),
        Formula::Imply(a, b) => !eval(task, state, a, env) || eval(task, state, b, env),
        Formula::Exists(params, body) | Formula::Forall(params, body) => {
            let exists = matches!(f, Formula::Exists(..));
            let mut result = !exists;
            bindings(task, params, env, &mut |env| {
                let v = eval(task, state, body, env);
                if v == exists {
                    result = exists;
                    return false; // decided
                }
                true
            });
            result
        }
    }
}

/// Call `f` for every binding of `params` until it returns `false`.
fn bindings(
    task: &Task,
    params: &[crate::lifted::Param],
    env: &mut Vec<(String, String)>,
    f: &mut dyn FnMut(&mut Names) -> bool,
) -> bool {
    let Some((p, rest)) = params.split_first() else {
        return f(env);
    };
    for (o, t) in task.objects.iter().zip(&task.object_types) {
        if task.domain.fits(*t, &p.types) {
            env.push((p.name.clone(), o.clone()));
            let go_on = bindings(task, rest, env, f);
            env.pop();
            if !go_on {
                return false;
            }
        }
    }
    true
}

fn render(task: &Task, f: &Formula, env: &[(String, String)]) -> String {
    match f {
        Formula::True => "(and)".into(),
        Formula::Atom(_) | Formula::Equal(..) => {
            let (name, args): (String, Vec<&Term>) = match f {
                Formula::Atom(a) => (
                    task.domain.predicates[a.pred].name.clone(),
                    a.args.iter().collect(),
                ),
                Formula::Equal(a, b) => ("=".into(), vec![a, b]),
                _ => unreachable!("matched above"),
            };
            let mut s = format!("({name}");
            for a in args {
                s.push(' ');
                s.push_str(object(a, env));
            }
            s + ")"
        }
        Formula::Not(f) => format!("(not {})", render(task, f, env)),
        Formula::And(v) | Formula::Or(v) => format!(
            "({} {})",
            if matches!(f, Formula::And(_)) {
                "and"
            } else {
                "or"
            },
            v.iter()
                .map(|f| render(task, f, env))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Formula::Imply(a, b) => {
            format!("(imply {} {})", render(task, a, env), render(task, b, env))
        }
        Formula::Exists(_, b) => format!("(exists ... {})", render(task, b, env)),
        Formula::Forall(_, b) => format!("(forall ... {})", render(task, b, env)),
    }
}

/// The JSON schema of one skill call: one variant per skill of the binding (its description, its
/// parameters as properties whose values are enums of the objects of their type), so a
/// schema-constrained model can only say well-typed calls of this domain and world.
pub fn call_schema(task: &Task, binding: &Binding) -> serde_json::Value {
    let variants: Vec<serde_json::Value> = binding
        .actions
        .iter()
        .filter_map(|(name, skill)| {
            let schema = task.domain.action(name)?;
            let mut props = serde_json::Map::new();
            for p in &schema.params {
                let objs: Vec<&str> = task
                    .objects
                    .iter()
                    .zip(&task.object_types)
                    .filter(|(_, t)| task.domain.fits(**t, &p.types))
                    .map(|(o, _)| o.as_str())
                    .collect();
                props.insert(
                    p.name.clone(),
                    serde_json::json!({"type": "string", "enum": objs}),
                );
            }
            let required: Vec<&str> = schema.params.iter().map(|p| p.name.as_str()).collect();
            Some(serde_json::json!({
                "type": "object",
                "description": skill.description,
                "properties": {
                    "skill": {"const": name},
                    "args": {
                        "type": "object",
                        "properties": props,
                        "required": required,
                        "additionalProperties": false,
                    }
                },
                "required": ["skill", "args"],
                "additionalProperties": false,
            }))
        })
        .collect();
    serde_json::json!({"oneOf": variants})
}
