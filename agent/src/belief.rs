//! The belief message read back into a partial [`WorldState`], for planners and critics that
//! reason over facts (whichever summarizer produced the belief).

use clea_bus::msg::{Belief, WorldVocabulary};
use clea_skills::{Location, WorldState};
use std::collections::BTreeMap;

/// A belief as facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeliefView {
    /// Known facts (absent: unknown).
    pub state: WorldState,
    /// When each receptacle's contents were last seen.
    pub searched: BTreeMap<String, u32>,
    /// Objects of unknown location that every receptacle was looked into without seeing, with
    /// how many times (full sweeps).
    pub unseen_sweeps: BTreeMap<String, u32>,
}

impl BeliefView {
    /// Read `b` against `vocab`; names the vocabulary does not know are ignored (a model-made
    /// belief may hallucinate them; they must not become facts).
    pub fn new(b: &Belief, vocab: &WorldVocabulary) -> Self {
        let mut state = WorldState::default();
        for r in &b.robots {
            if let Some(p) = &r.place {
                if vocab.is_navigation_point(p) && vocab.robot(&r.robot).is_some() {
                    state.robot_place.insert(r.robot.clone(), p.clone());
                }
            }
        }
        let mut unseen_sweeps = BTreeMap::new();
        for o in &b.objects {
            if !vocab.is_object(&o.object) {
                continue;
            }
            if o.location.is_none() && o.unseen_sweeps > 0 {
                unseen_sweeps.insert(o.object.clone(), o.unseen_sweeps);
            }
            let loc = match o.location.as_deref() {
                Some("removed") => Some(Location::Removed),
                Some(l) if vocab.receptacle(l).is_some() => Some(Location::In(l.to_string())),
                Some(l) if vocab.robot(l).is_some() => Some(Location::HeldBy(l.to_string())),
                _ => None,
            };
            if let Some(loc) = loc {
                state.location.insert(o.object.clone(), loc);
            }
            if o.roasted {
                state.roasted.insert(o.object.clone());
            }
        }
        for c in &b.containers {
            if let (Some(open), Some(r)) = (c.open, vocab.receptacle(&c.receptacle)) {
                if r.openable {
                    state.open.insert(c.receptacle.clone(), open);
                }
            }
        }
        let searched = b
            .searched
            .iter()
            .filter(|s| vocab.receptacle(&s.receptacle).is_some())
            .map(|s| (s.receptacle.clone(), s.step))
            .collect();
        Self {
            state,
            searched,
            unseen_sweeps,
        }
    }

    /// Where the belief places each object (object → receptacle or robot).
    pub fn believed_locations(&self) -> BTreeMap<String, String> {
        self.state
            .location
            .iter()
            .map(|(o, l)| (o.clone(), l.to_string()))
            .collect()
    }
}
