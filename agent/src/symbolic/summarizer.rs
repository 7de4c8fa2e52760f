//! The symbolic summarizer: merges `(o_t, a, f)` into the structured belief (see
//! [`crate::memory::BeliefState`]).

use crate::memory::{BeliefState, HistoryEntry};
use crate::modules::{ModuleError, Summarizer};
use async_trait::async_trait;
use clea_bus::msg::{Belief, MemoryRequest};
use clea_skills::{validate, Goal};

/// The symbolic memory of one episode at a time (reset by a request carrying a task).
#[derive(Debug, Clone)]
pub struct SymbolicSummarizer {
    capacity: usize,
    memory: Option<(BeliefState, Vec<Goal>)>,
}

impl SymbolicSummarizer {
    /// A summarizer whose history buffer holds `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            memory: None,
        }
    }

    /// The current memory, if reset.
    pub fn memory(&self) -> Option<&BeliefState> {
        self.memory.as_ref().map(|(m, _)| m)
    }
}

#[async_trait]
impl Summarizer for SymbolicSummarizer {
    async fn summarize(&mut self, req: &MemoryRequest) -> Result<Belief, ModuleError> {
        if let Some(task) = &req.reset {
            let mut m = BeliefState::new(task.vocabulary.clone(), self.capacity);
            for (o, r) in &task.known_locations {
                m.assume(o, r);
            }
            let goals = task
                .goals
                .iter()
                .map(|g| Goal::parse(g, &task.vocabulary))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ModuleError::BadRequest(format!("task goal: {e}")))?;
            self.memory = Some((m, goals));
        }
        let (m, goals) = self
            .memory
            .as_mut()
            .ok_or_else(|| ModuleError::BadRequest("memory used before a reset".into()))?;
        if let (Some(call), Some(outcome)) = (&req.action, &req.outcome) {
            let action = validate(call, m.vocabulary());
            match &action {
                Ok(a) if outcome.is_success() => m.predict(a),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "memory ignores an invalid action"),
            }
            let text = action.map_or_else(|_| call.to_string(), |a| a.to_string());
            m.record_outcome(text, outcome.clone());
        }
        let mut contradictions = Vec::new();
        for o in &req.observation.robots {
            contradictions.extend(m.merge(o).contradicted);
        }
        m.record(HistoryEntry {
            step: req.observation.step,
            observation: req.observation.text.clone(),
            action: None,
            feedback: None,
        });
        let mut b = m.to_message(goals);
        b.step = req.observation.step;
        b.contradictions = contradictions;
        Ok(b)
    }
}
