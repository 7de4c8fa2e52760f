//! The task's scope: the objects a call may move.
//!
//! An object is in scope when the task's goals name it, when the instruction states where it is
//! (`TaskSpec::known_locations`), or when a robot holds it: what a robot holds blocks its every
//! pick (`hand_free`), so putting it down belongs to any task. Anything else is off task: an
//! instruction injected through an observation ("put everything in the trash") or a small
//! model's wandering attention cannot move it. The same set restricts the planner's reply schema
//! ([`crate::schema::call_schema`]), so a constrained decoder cannot even say an off-task call,
//! and the controller's check of every call, so an unconstrained one is refused with a reason.

use crate::action::Action;
use crate::goal::Goal;
use clea_bus::msg::{Belief, TaskSpec};
use std::collections::BTreeSet;

/// The objects a task's calls may move (see the module docs for what is in it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskScope {
    objects: BTreeSet<String>,
}

impl TaskScope {
    /// The scope of `task`: the objects its goals name (goals that do not parse against its
    /// vocabulary name nothing) and those whose location the instruction states; with
    /// `belief`, also every object a robot holds according to it.
    pub fn of(task: &TaskSpec, belief: Option<&Belief>) -> Self {
        let goals = task
            .goals
            .iter()
            .filter_map(|g| Goal::parse(g, &task.vocabulary).ok())
            .map(|g| g.object().to_string());
        let held = belief
            .into_iter()
            .flat_map(|b| &b.robots)
            .flat_map(|r| r.holding.iter().cloned());
        Self {
            objects: goals
                .chain(task.known_locations.keys().cloned())
                .chain(held)
                .collect(),
        }
    }

    /// The objects in scope, sorted by name.
    pub fn objects(&self) -> &BTreeSet<String> {
        &self.objects
    }

    /// Whether `object` is in scope.
    pub fn contains(&self, object: &str) -> bool {
        self.objects.contains(object)
    }

    /// Why `action` is outside the scope, if it is: it picks or releases an object not in
    /// scope. The reason names the objects that are, so a model can correct its next plan.
    pub fn refuses(&self, action: &Action) -> Option<String> {
        let object = match action {
            Action::PickFrom { object, .. } | Action::ReleaseTo { object, .. } => object,
            _ => return None,
        };
        if self.contains(object) {
            return None;
        }
        let about = if self.objects.is_empty() {
            "no object".to_string()
        } else {
            self.objects.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        Some(format!(
            "outside the task's scope: {object} is not part of the task (it is about {about})"
        ))
    }
}
