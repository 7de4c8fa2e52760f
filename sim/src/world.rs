//! The simulated world: ground truth, skill execution, partial observations, perturbations and
//! scoring. Pure and synchronous; [`crate::robots`] puts it on the bus.
//!
//! One step is one skill execution, successful or not. After each step: heating dynamics
//! (objects in the closed oven become roasted), then perturbations whose trigger is due, then
//! observations. Randomness (grasp noise) comes from one ChaCha8 stream seeded by the episode
//! seed, so the same scenario and seed give the same event sequence.

use crate::scenario::{Condition, PerturbationEffect, Scenario, Trigger};
use clea_bus::msg::{
    EpisodeEnd, EpisodeEvent, EpisodeScore, ObservedObject, ReceptacleView, RobotObservation,
    SkillOutcome, WorldVocabulary,
};
use clea_skills::{Action, Check, Location, WorldState};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The simulated world of one episode.
#[derive(Debug, Clone)]
pub struct SimWorld {
    scenario: Scenario,
    seed: u64,
    state: WorldState,
    step: u32,
    rng: ChaCha8Rng,
    pending_failures: BTreeMap<String, String>,
    fired: Vec<bool>,
    events: Vec<EpisodeEvent>,
    skill_failures: u32,
    invalid_calls: u32,
    perturbations_fired: u32,
}

impl SimWorld {
    /// Reset to the scenario's initial state with `seed`; perturbations at step 0 fire now.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let mut state = WorldState {
            robot_place: scenario.robot_places.clone(),
            ..Default::default()
        };
        for (o, r) in &scenario.object_places {
            state.location.insert(o.clone(), Location::In(r.clone()));
        }
        for r in scenario.world.receptacles.iter().filter(|r| r.openable) {
            state
                .open
                .insert(r.name.clone(), scenario.open.contains(&r.name));
        }
        let mut w = Self {
            scenario: scenario.clone(),
            seed,
            state,
            step: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            pending_failures: BTreeMap::new(),
            fired: vec![false; scenario.perturbations.len()],
            events: vec![EpisodeEvent::Reset {
                scenario: scenario.name.clone(),
                seed,
            }],
            skill_failures: 0,
            invalid_calls: 0,
            perturbations_fired: 0,
        };
        w.fire_due();
        w
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The seed of this episode.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The world vocabulary.
    pub fn vocabulary(&self) -> &WorldVocabulary {
        &self.scenario.world
    }

    /// Ground truth.
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// Steps executed so far.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// The event log so far.
    pub fn events(&self) -> &[EpisodeEvent] {
        &self.events
    }

    /// Whether the step budget is used up.
    pub fn out_of_steps(&self) -> bool {
        self.step >= self.scenario.budgets.max_steps
    }

    /// Record a call that was rejected before execution (invalid, e-stop, over budget).
    pub fn reject(&mut self, call: &str, reason: &str) {
        self.invalid_calls += 1;
        self.events.push(EpisodeEvent::Rejected {
            step: self.step,
            call: call.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Execute one validated action as a step. A failed skill changes nothing but the step count.
    pub fn execute(&mut self, action: &Action) -> SkillOutcome {
        self.step += 1;
        let outcome = self.outcome_of(action);
        match &outcome {
            SkillOutcome::Succeeded => self.state.apply(action),
            _ => self.skill_failures += 1,
        }
        self.events.push(EpisodeEvent::Skill {
            step: self.step,
            action: action.to_string(),
            outcome: outcome.clone(),
        });
        self.end_of_step();
        outcome
    }

    /// Count a step that did not complete (canceled or interrupted): the skill changes nothing,
    /// but time passes as in any step (the oven still heats, perturbations still fire).
    pub fn interrupted(&mut self, action: &Action, outcome: SkillOutcome) {
        self.step += 1;
        self.skill_failures += 1;
        self.events.push(EpisodeEvent::Skill {
            step: self.step,
            action: action.to_string(),
            outcome,
        });
        self.end_of_step();
    }

    /// Heating dynamics, then the perturbations that are due.
    fn end_of_step(&mut self) {
        for object in self.state.settle(&self.scenario.world) {
            self.events.push(EpisodeEvent::Roasted {
                step: self.step,
                object,
            });
        }
        self.fire_due();
    }

    fn outcome_of(&mut self, action: &Action) -> SkillOutcome {
        if let Some(reason) = self.pending_failures.remove(action.robot()) {
            return SkillOutcome::Failed { reason };
        }
        match self.state.check(&self.scenario.world, action) {
            Check::Holds => {}
            Check::Fails(u) => return SkillOutcome::Failed { reason: u.reason },
            Check::Unknown(l) => {
                // Ground truth knows every fact; an unknown one means an inconsistent world.
                return SkillOutcome::Failed {
                    reason: format!("simulator does not know {l}"),
                };
            }
        }
        if let Action::PickFrom { object, .. } = action {
            let p = self.scenario.noise.grasp_failure_rate;
            if p > 0.0 && self.rng.gen_bool(p) {
                return SkillOutcome::Failed {
                    reason: format!("grasp of {object} failed"),
                };
            }
        }
        SkillOutcome::Succeeded
    }

    fn condition_holds(&self, c: &Condition) -> bool {
        let s = &self.state;
        match c {
            Condition::At(r, p) => s.robot_place.get(r) == Some(p),
            Condition::Holding(r, o) => s.location.get(o) == Some(&Location::HeldBy(r.clone())),
            Condition::In(o, r) => s.location.get(o) == Some(&Location::In(r.clone())),
            Condition::Open(r) => s.open.get(r) == Some(&true),
            Condition::Closed(r) => s.open.get(r) == Some(&false),
            Condition::Roasted(o) => s.roasted.contains(o),
        }
    }

    fn fire_due(&mut self) {
        for i in 0..self.scenario.perturbations.len() {
            if self.fired[i] {
                continue;
            }
            let p = &self.scenario.perturbations[i];
            let due = match &p.trigger {
                Trigger::AtStep(n) => self.step >= *n,
                Trigger::When(c) => self.condition_holds(c),
            };
            if !due {
                continue;
            }
            self.fired[i] = true;
            self.perturbations_fired += 1;
            let effect = p.effect.clone();
            match &effect {
                PerturbationEffect::MoveObject { object, to } => {
                    self.state
                        .location
                        .insert(object.clone(), Location::In(to.clone()));
                }
                PerturbationEffect::RemoveObject { object } => {
                    self.state
                        .location
                        .insert(object.clone(), Location::Removed);
                }
                PerturbationEffect::SetOpen { receptacle, open } => {
                    self.state.open.insert(receptacle.clone(), *open);
                }
                PerturbationEffect::FailNextSkill { robot, reason } => {
                    self.pending_failures.insert(robot.clone(), reason.clone());
                }
            }
            self.events.push(EpisodeEvent::Perturbation {
                step: self.step,
                description: effect.to_string(),
            });
        }
    }

    /// What `robot` sees now (partial observability: receptacles at its navigation point or in
    /// its reach; a closed container hides its contents).
    pub fn observe(&self, robot: &str) -> RobotObservation {
        let w = &self.scenario.world;
        let place = self.state.robot_place.get(robot).cloned();
        let in_view = w
            .receptacles
            .iter()
            .filter(|r| self.state.reaches(w, robot, &r.name) == Some(true))
            .map(|r| {
                let visible = self.state.accessible(w, &r.name) == Some(true);
                ReceptacleView {
                    receptacle: r.name.clone(),
                    open: r
                        .openable
                        .then(|| self.state.open.get(&r.name) == Some(&true)),
                    contents_visible: visible,
                    objects: if visible {
                        self.state
                            .contents(&r.name)
                            .into_iter()
                            .map(|o| ObservedObject {
                                roasted: self.state.roasted.contains(&o),
                                object: o,
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        RobotObservation {
            robot: robot.to_string(),
            step: self.step,
            place,
            holding: self.state.held_by(robot),
            in_view,
        }
    }

    /// Observations of every robot, in robot order.
    pub fn observe_all(&self) -> Vec<RobotObservation> {
        self.scenario
            .world
            .robots
            .iter()
            .map(|r| self.observe(&r.name))
            .collect()
    }

    /// Score the episode against the task's goals; records an `Ended` event.
    ///
    /// `found(x)` holds when the agent declared done and `end.believed_locations` has `x` where
    /// it really is.
    pub fn finish(&mut self, end: &EpisodeEnd) -> EpisodeScore {
        let score = self.score(end);
        self.events.push(EpisodeEvent::Ended {
            step: self.step,
            success: score.success,
        });
        score
    }

    /// Score without recording (see [`SimWorld::finish`]).
    pub fn score(&self, end: &EpisodeEnd) -> EpisodeScore {
        let empty = BTreeMap::new();
        let believed = if end.declared_done {
            &end.believed_locations
        } else {
            &empty
        };
        let (mut met, mut unmet) = (Vec::new(), Vec::new());
        for g in &self.scenario.goals {
            if g.holds(&self.state, believed) == Some(true) {
                met.push(g.to_string());
            } else {
                unmet.push(g.to_string());
            }
        }
        let n = self.scenario.goals.len().max(1) as f64;
        EpisodeScore {
            success: unmet.is_empty(),
            score: met.len() as f64 / n,
            goals_met: met,
            goals_unmet: unmet,
            steps: self.step,
            skill_failures: self.skill_failures,
            invalid_calls: self.invalid_calls + end.invalid_calls,
            perturbations: self.perturbations_fired,
        }
    }
}
