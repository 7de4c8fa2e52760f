//! Memory: the history buffer and the symbolic summarizer that turns observations into the belief
//! `b_t` (CLEA Sec. III-B).
//!
//! The belief is a partial [`WorldState`]: a fact is absent until seen. Newer observations
//! override older beliefs; seeing a receptacle's contents without an object removes that object
//! from there (its place becomes unknown), so a person moving things is noticed.

use clea_bus::msg::{
    Belief, BeliefContainer, BeliefObject, BeliefRobot, RobotObservation, SearchedReceptacle,
    SkillOutcome, WorldVocabulary,
};
use clea_skills::{Action, Check, Goal, Location, WorldState};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// One entry of the history buffer: the observation `o_t`, the action taken and its feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Step of the observation.
    pub step: u32,
    /// Observation text.
    pub observation: String,
    /// Action executed after it, in paper notation.
    pub action: Option<String>,
    /// Feedback (skill outcome).
    pub feedback: Option<SkillOutcome>,
}

/// The symbolic belief and the bounded history buffer.
#[derive(Debug, Clone)]
pub struct BeliefState {
    vocab: WorldVocabulary,
    /// Known facts.
    pub state: WorldState,
    /// Step at which each object was last seen.
    pub seen_at: BTreeMap<String, u32>,
    /// Step at which each object was found missing from where it was last seen.
    pub missing_since: BTreeMap<String, u32>,
    /// Objects of unknown location: receptacles looked into since the current sweep began, and
    /// the sweeps (every receptacle looked into) completed without seeing the object.
    unseen_sweeps: BTreeMap<String, (BTreeSet<String>, u32)>,
    /// (robot, step) of every observation merged, so a re-sent one is not a new look.
    seen_steps: BTreeSet<(String, u32)>,
    /// Navigation points visited.
    pub visited: BTreeSet<String>,
    /// Receptacles whose contents have been seen, with the step they were last seen at.
    pub searched: BTreeMap<String, u32>,
    /// Newest step merged.
    pub step: u32,
    /// Newest step merged per robot: older observations arriving late are ignored.
    last_step: BTreeMap<String, u32>,
    history: VecDeque<HistoryEntry>,
    capacity: usize,
}

/// What merging an observation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Something new was learnt (an unknown fact became known).
    pub learned: bool,
    /// A known fact turned out different (an object elsewhere, a container in another state).
    pub contradicted: Vec<String>,
}

impl BeliefState {
    /// An empty belief over `vocab` with a history buffer of `capacity` entries.
    pub fn new(vocab: WorldVocabulary, capacity: usize) -> Self {
        Self {
            vocab,
            state: WorldState::default(),
            seen_at: BTreeMap::new(),
            missing_since: BTreeMap::new(),
            unseen_sweeps: BTreeMap::new(),
            seen_steps: BTreeSet::new(),
            visited: BTreeSet::new(),
            searched: BTreeMap::new(),
            step: 0,
            last_step: BTreeMap::new(),
            history: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The world vocabulary.
    pub fn vocabulary(&self) -> &WorldVocabulary {
        &self.vocab
    }

    /// The history buffer, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.history.iter()
    }

    /// Append to the history buffer (bounded FIFO: the oldest entry goes first).
    pub fn record(&mut self, entry: HistoryEntry) {
        if self.history.len() == self.capacity {
            self.history.pop_front();
        }
        self.history.push_back(entry);
    }

    /// Attach the action and its feedback to the newest history entry.
    pub fn record_outcome(&mut self, action: String, outcome: SkillOutcome) {
        if let Some(last) = self.history.back_mut() {
            last.action = Some(action);
            last.feedback = Some(outcome);
        }
    }

    /// Predict the effects of `action` that just succeeded (and the end-of-step dynamics, such
    /// as roasting in the closed oven), so that the observation that follows is compared with
    /// the prediction and only surprises count as contradictions.
    pub fn predict(&mut self, action: &Action) {
        if self.state.check(&self.vocab, action) != Check::Holds {
            // The belief lacked a fact the robot had; apply what the action certainly did.
            tracing::debug!(%action, "prediction from an incomplete belief");
        }
        self.state.apply(action);
        self.state.settle(&self.vocab);
        // What the prediction places is no longer missing.
        for o in self.state.location.keys() {
            self.missing_since.remove(o);
            self.unseen_sweeps.remove(o);
        }
    }

    /// Receptacles some robot can look into: those near a navigation point (for a mobile robot)
    /// and those in a robot's reach. A sweep is complete when all of these were looked into.
    fn viewable(&self) -> BTreeSet<String> {
        let mobile = self.vocab.robots.iter().any(|r| r.mobile);
        self.vocab
            .receptacles
            .iter()
            .filter(|r| {
                (mobile && r.near.is_some())
                    || self.vocab.robots.iter().any(|b| b.reach.contains(&r.name))
            })
            .map(|r| r.name.clone())
            .collect()
    }

    /// Seed the belief with locations the task states (e.g. "the tea in the refrigerator").
    pub fn assume(&mut self, object: &str, receptacle: &str) {
        self.state
            .location
            .entry(object.to_string())
            .or_insert_with(|| Location::In(receptacle.to_string()));
    }

    /// Merge one robot's observation; newer facts override older ones.
    pub fn merge(&mut self, obs: &RobotObservation) -> MergeReport {
        let mut report = MergeReport::default();
        if self.vocab.robot(&obs.robot).is_none() {
            tracing::warn!(robot = %obs.robot, "ignoring an observation of an unknown robot");
            return report;
        }
        // Names outside the world vocabulary (a detector's stray label, text on a sign) never
        // become facts.
        let obs = &sanitize(obs, &self.vocab);
        let step = obs.step;
        if self.last_step.get(&obs.robot).is_some_and(|s| *s > step) {
            return report;
        }
        // The same observation merged again (the observer re-sends a robot's newest one every
        // step) is no new look: it does not count toward search sweeps.
        let fresh = self.seen_steps.insert((obs.robot.clone(), step));
        self.last_step.insert(obs.robot.clone(), step);
        self.step = self.step.max(step);
        let set_location = |me: &mut Self, object: &str, loc: Location, r: &mut MergeReport| {
            match me.state.location.get(object) {
                None => r.learned = true,
                Some(old) if *old != loc => {
                    r.contradicted
                        .push(format!("{object} is at {loc}, not {old}"));
                }
                _ => {}
            }
            me.state.location.insert(object.to_string(), loc);
            me.seen_at.insert(object.to_string(), step);
            me.missing_since.remove(object);
            me.unseen_sweeps.remove(object);
        };
        if let Some(place) = &obs.place {
            if self.state.robot_place.get(&obs.robot) != Some(place) {
                self.state
                    .robot_place
                    .insert(obs.robot.clone(), place.clone());
            }
            if self.visited.insert(place.clone()) {
                report.learned = true;
            }
        }
        // What the robot holds.
        let believed_held = self.state.held_by(&obs.robot);
        for o in &obs.holding {
            set_location(self, o, Location::HeldBy(obs.robot.clone()), &mut report);
        }
        for o in believed_held {
            if !obs.holding.contains(&o) {
                self.state.location.remove(&o);
                self.missing_since.insert(o.clone(), step);
                self.unseen_sweeps.remove(&o);
                report
                    .contradicted
                    .push(format!("{} no longer holds {o}", obs.robot));
            }
        }
        for view in &obs.in_view {
            if let Some(open) = view.open {
                match self.state.open.insert(view.receptacle.clone(), open) {
                    None => report.learned = true,
                    Some(old) if old != open => report.contradicted.push(format!(
                        "{} is {}",
                        view.receptacle,
                        if open { "open" } else { "closed" }
                    )),
                    _ => {}
                }
            }
            if !view.contents_visible {
                continue;
            }
            if self
                .searched
                .insert(view.receptacle.clone(), step)
                .is_none()
            {
                report.learned = true;
            }
            let here = Location::In(view.receptacle.clone());
            let seen: BTreeSet<&str> = view.objects.iter().map(|o| o.object.as_str()).collect();
            for o in &view.objects {
                set_location(self, &o.object, here.clone(), &mut report);
                if o.roasted {
                    self.state.roasted.insert(o.object.clone());
                }
            }
            let gone: Vec<String> = self
                .state
                .contents(&view.receptacle)
                .into_iter()
                .filter(|o| !seen.contains(o.as_str()))
                .collect();
            for o in gone {
                self.state.location.remove(&o);
                self.missing_since.insert(o.clone(), step);
                self.unseen_sweeps.remove(&o);
                report
                    .contradicted
                    .push(format!("{o} is no longer in {}", view.receptacle));
            }
            // Objects still unaccounted for were not here either.
            if fresh {
                let viewable = self.viewable();
                if viewable.contains(&view.receptacle) {
                    for o in &self.vocab.objects {
                        if self.state.location.contains_key(o) {
                            continue;
                        }
                        let (covered, sweeps) = self.unseen_sweeps.entry(o.clone()).or_default();
                        covered.insert(view.receptacle.clone());
                        if covered.len() >= viewable.len() {
                            *sweeps += 1;
                            covered.clear();
                        }
                    }
                }
            }
        }
        report
    }

    /// Where the belief places each object that has a known location (object → receptacle or
    /// robot name), for scoring `found(x)`.
    pub fn believed_locations(&self) -> BTreeMap<String, String> {
        self.state
            .location
            .iter()
            .map(|(o, l)| (o.clone(), l.to_string()))
            .collect()
    }

    /// The belief as a bus message, with the goal predicates that hold by it.
    pub fn to_message(&self, goals: &[Goal]) -> Belief {
        let believed = self.believed_locations();
        let mut b = Belief {
            step: self.step,
            objects: self
                .vocab
                .objects
                .iter()
                .map(|o| BeliefObject {
                    object: o.clone(),
                    location: self.state.location.get(o).map(|l| l.to_string()),
                    seen_at_step: self.seen_at.get(o).copied(),
                    missing_since_step: self.missing_since.get(o).copied(),
                    unseen_sweeps: self.unseen_sweeps.get(o).map_or(0, |(_, n)| *n),
                    roasted: self.state.roasted.contains(o),
                })
                .collect(),
            containers: self
                .vocab
                .receptacles
                .iter()
                .filter(|r| r.openable)
                .map(|r| BeliefContainer {
                    receptacle: r.name.clone(),
                    open: self.state.open.get(&r.name).copied(),
                    searched: self.searched.contains_key(&r.name),
                })
                .collect(),
            robots: self
                .vocab
                .robots
                .iter()
                .map(|r| BeliefRobot {
                    robot: r.name.clone(),
                    place: self.state.robot_place.get(&r.name).cloned(),
                    holding: self.state.held_by(&r.name),
                })
                .collect(),
            visited: self.visited.iter().cloned().collect(),
            searched: self
                .searched
                .iter()
                .map(|(r, s)| SearchedReceptacle {
                    receptacle: r.clone(),
                    step: *s,
                })
                .collect(),
            contradictions: Vec::new(),
            goals_holding: goals
                .iter()
                .filter(|g| g.holds(&self.state, &believed) == Some(true))
                .map(|g| g.to_string())
                .collect(),
            text: String::new(),
            usage: None,
        };
        b.text = render_belief(&b);
        b
    }
}

/// Text rendering of a belief for prompts and logs.
pub fn render_belief(b: &Belief) -> String {
    let mut t = String::new();
    for o in &b.objects {
        match (&o.location, o.seen_at_step) {
            (Some(l), Some(s)) => {
                let _ = write!(t, "{} is at {l} (seen at step {s})", o.object);
            }
            _ => {
                let _ = write!(t, "{}: location unknown", o.object);
                if let Some(s) = o.missing_since_step {
                    let _ = write!(t, " (missing since step {s})");
                }
            }
        }
        if o.roasted {
            t.push_str(", roasted");
        }
        t.push_str(".\n");
    }
    for c in &b.containers {
        let state = match c.open {
            Some(true) => "open",
            Some(false) => "closed",
            None => "in an unknown state",
        };
        let searched = if c.searched {
            "searched"
        } else {
            "not searched"
        };
        let _ = writeln!(t, "{} is {state}, {searched}.", c.receptacle);
    }
    for r in &b.robots {
        let place = r.place.as_deref().unwrap_or("its fixed base");
        let held = if r.holding.is_empty() {
            "nothing".to_string()
        } else {
            r.holding.join(", ")
        };
        let _ = writeln!(t, "{} is at {place}, holding {held}.", r.robot);
    }
    t
}

/// `obs` without objects, receptacles or places the world does not have.
fn sanitize(obs: &RobotObservation, vocab: &WorldVocabulary) -> RobotObservation {
    let mut o = obs.clone();
    if o.place
        .as_ref()
        .is_some_and(|p| !vocab.is_navigation_point(p))
    {
        o.place = None;
    }
    o.holding.retain(|x| vocab.is_object(x));
    o.in_view
        .retain(|v| vocab.receptacle(&v.receptacle).is_some());
    for v in &mut o.in_view {
        let before = v.objects.len();
        v.objects.retain(|x| vocab.is_object(&x.object));
        if v.objects.len() != before {
            tracing::warn!(receptacle = %v.receptacle, "ignoring unknown names in an observation");
        }
    }
    o
}
