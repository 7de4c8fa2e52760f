//! Breadth-first task search over the skill pool's preconditions and effects.
//!
//! States are compact ([`Node`]: `Copy`, hashed as a few bytes) so a plan over the kitchen is found
//! in well under a millisecond. The literals come from the pool table (`clea_skills::POOL`); this
//! module only gives each of the seven predicates its meaning on a [`Node`], mirroring
//! `clea_skills::WorldState` (a test checks that both agree on random action sequences).
//!
//! Only the objects that may move in a search are tracked (the subgoal's object and anything a
//! robot holds); every other object keeps its place, which keeps the state space small and keeps
//! goals already reached intact.

use clea_bus::msg::WorldVocabulary;
use clea_skills::pool::{Literal, Predicate};
use clea_skills::{Action, Location, WorldState};
use std::collections::{HashMap, VecDeque};

/// Most robots a search handles.
pub const MAX_ROBOTS: usize = 4;
/// Most movable objects a search tracks.
pub const MAX_MOVABLE: usize = 8;
/// Most receptacles a world may have for the search (open states are a `u32` bit set).
pub const MAX_RECEPTACLES: usize = 32;

const UNKNOWN: u8 = 250;
const REMOVED: u8 = 251;
const NOWHERE: u8 = 255;

/// A search state: robot places, movable object locations, open containers, roasted objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node {
    place: [u8; MAX_ROBOTS],
    loc: [u8; MAX_MOVABLE],
    open: u32,
    roasted: u8,
}

#[derive(Debug, Clone, Copy)]
struct Lit {
    predicate: Predicate,
    positive: bool,
    a: u8,
    b: u8,
}

#[derive(Debug, Clone)]
struct Grounded {
    action: Action,
    pre: Vec<Lit>,
    eff: Vec<Lit>,
}

/// Why a search problem cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search problem too large: {0}")]
pub struct TooLarge(pub String);

/// A search problem: the world, the movable objects and the grounded actions.
#[derive(Debug, Clone)]
pub struct Problem {
    movable: Vec<String>,
    receptacles: Vec<String>,
    robots: Vec<String>,
    nav: Vec<String>,
    mobile: Vec<bool>,
    carry: Vec<u8>,
    /// `static_reach[r]`: bit set of receptacles robot `r` reaches from anywhere.
    static_reach: Vec<u32>,
    /// Navigation point index each receptacle is near (`NOWHERE` if none).
    near: Vec<u8>,
    openable: u32,
    heats: u32,
    actions: Vec<Grounded>,
}

fn index(names: &[String], name: &str) -> Option<u8> {
    names.iter().position(|n| n == name).map(|i| i as u8)
}

impl Problem {
    /// Build the problem for `vocab` with `movable` objects (the others stay where they are).
    ///
    /// # Errors
    /// [`TooLarge`] when the world exceeds [`MAX_ROBOTS`], [`MAX_MOVABLE`] or [`MAX_RECEPTACLES`].
    pub fn new(vocab: &WorldVocabulary, movable: Vec<String>) -> Result<Self, TooLarge> {
        if vocab.robots.len() > MAX_ROBOTS
            || movable.len() > MAX_MOVABLE
            || vocab.receptacles.len() > MAX_RECEPTACLES
        {
            return Err(TooLarge(format!(
                "{} robots, {} movable objects, {} receptacles (limits {MAX_ROBOTS}, {MAX_MOVABLE}, {MAX_RECEPTACLES})",
                vocab.robots.len(),
                movable.len(),
                vocab.receptacles.len()
            )));
        }
        let receptacles: Vec<String> = vocab.receptacles.iter().map(|r| r.name.clone()).collect();
        let robots: Vec<String> = vocab.robots.iter().map(|r| r.name.clone()).collect();
        let nav = vocab.navigation_points.clone();
        let bit = |i: usize| 1u32 << i;
        let mut p = Problem {
            mobile: vocab.robots.iter().map(|r| r.mobile).collect(),
            carry: vocab.robots.iter().map(|r| r.carry).collect(),
            static_reach: vocab
                .robots
                .iter()
                .map(|r| {
                    r.reach
                        .iter()
                        .filter_map(|x| index(&receptacles, x))
                        .fold(0, |acc, i| acc | bit(i as usize))
                })
                .collect(),
            near: vocab
                .receptacles
                .iter()
                .map(|r| {
                    r.near
                        .as_deref()
                        .and_then(|n| index(&nav, n))
                        .unwrap_or(NOWHERE)
                })
                .collect(),
            openable: vocab
                .receptacles
                .iter()
                .enumerate()
                .filter(|(_, r)| r.openable)
                .fold(0, |acc, (i, _)| acc | bit(i)),
            heats: vocab
                .receptacles
                .iter()
                .enumerate()
                .filter(|(_, r)| r.heats)
                .fold(0, |acc, (i, _)| acc | bit(i)),
            movable,
            receptacles,
            robots,
            nav,
            actions: Vec::new(),
        };
        p.ground(vocab);
        Ok(p)
    }

    /// Every action over the robots, places, receptacles and movable objects that passes the
    /// static checks (capabilities, kinds, a fixed robot's reach).
    fn ground(&mut self, vocab: &WorldVocabulary) {
        let mut out = Vec::new();
        for (ri, r) in vocab.robots.iter().enumerate() {
            let robot = r.name.clone();
            let can_reach_ever = |rec: usize| {
                self.static_reach[ri] & (1 << rec) != 0 || (r.mobile && self.near[rec] != NOWHERE)
            };
            if r.mobile {
                for np in &self.nav {
                    out.push(Action::GoTo {
                        robot: robot.clone(),
                        navigation_point: np.clone(),
                    });
                }
            }
            if r.arms == 0 || r.carry == 0 {
                continue;
            }
            for (ci, c) in vocab.receptacles.iter().enumerate() {
                if !can_reach_ever(ci) {
                    continue;
                }
                if c.openable {
                    out.push(Action::Open {
                        robot: robot.clone(),
                        openable: c.name.clone(),
                    });
                    out.push(Action::Close {
                        robot: robot.clone(),
                        openable: c.name.clone(),
                    });
                }
                for o in &self.movable {
                    out.push(Action::PickFrom {
                        robot: robot.clone(),
                        object: o.clone(),
                        receptacle: c.name.clone(),
                    });
                    out.push(Action::ReleaseTo {
                        robot: robot.clone(),
                        object: o.clone(),
                        receptacle: c.name.clone(),
                    });
                }
            }
        }
        self.actions = out
            .into_iter()
            .map(|action| {
                let spec = action.skill().spec();
                let resolve = |l: &Literal| self.resolve(&action, l);
                Grounded {
                    pre: spec.preconditions.iter().map(resolve).collect(),
                    eff: spec.effects.iter().map(resolve).collect(),
                    action,
                }
            })
            .collect();
    }

    fn resolve(&self, action: &Action, l: &Literal) -> Lit {
        let idx = |param: &str| -> u8 {
            let v = action.arg(param).expect("literal names a parameter");
            let kind = action
                .skill()
                .spec()
                .params
                .iter()
                .find(|p| p.name == param)
                .expect("parameter exists")
                .kind;
            use clea_skills::ArgKind as K;
            match kind {
                K::Robot => index(&self.robots, v),
                K::NavigationPoint => index(&self.nav, v),
                K::Openable | K::Receptacle => index(&self.receptacles, v),
                K::Object => index(&self.movable, v),
            }
            .expect("grounded over known names")
        };
        let a = idx(l.args[0]);
        let b = l.args.get(1).map_or(0, |p| idx(p));
        Lit {
            predicate: l.predicate,
            positive: l.positive,
            a,
            b,
        }
    }

    /// The node for a (belief) state. Unknown open states count as closed (the world's default);
    /// unknown object locations stay unknown (such objects cannot be picked).
    pub fn node(&self, s: &WorldState) -> Node {
        let mut n = Node {
            place: [NOWHERE; MAX_ROBOTS],
            loc: [UNKNOWN; MAX_MOVABLE],
            open: 0,
            roasted: 0,
        };
        for (i, r) in self.robots.iter().enumerate() {
            if let Some(p) = s.robot_place.get(r).and_then(|p| index(&self.nav, p)) {
                n.place[i] = p;
            }
        }
        for (i, o) in self.movable.iter().enumerate() {
            n.loc[i] = match s.location.get(o) {
                Some(Location::In(r)) => index(&self.receptacles, r).unwrap_or(UNKNOWN),
                Some(Location::HeldBy(r)) => index(&self.robots, r)
                    .map(|x| self.receptacles.len() as u8 + x)
                    .unwrap_or(UNKNOWN),
                Some(Location::Removed) => REMOVED,
                None => UNKNOWN,
            };
            if s.roasted.contains(o) {
                n.roasted |= 1 << i;
            }
        }
        for (i, r) in self.receptacles.iter().enumerate() {
            if s.open.get(r) == Some(&true) {
                n.open |= 1 << i;
            }
        }
        n
    }

    fn held(&self, robot: u8) -> u8 {
        self.receptacles.len() as u8 + robot
    }

    fn reaches(&self, n: &Node, robot: u8, rec: u8) -> bool {
        let (r, c) = (robot as usize, rec as usize);
        self.static_reach[r] & (1 << c) != 0
            || (self.mobile[r] && self.near[c] != NOWHERE && self.near[c] == n.place[r])
    }

    fn accessible(&self, n: &Node, rec: u8) -> bool {
        self.openable & (1 << rec) == 0 || n.open & (1 << rec) != 0
    }

    fn holds(&self, n: &Node, l: &Lit) -> bool {
        let v = match l.predicate {
            Predicate::At => n.place[l.a as usize] == l.b,
            Predicate::Reaches => self.reaches(n, l.a, l.b),
            Predicate::Accessible => self.accessible(n, l.a),
            Predicate::IsOpen => n.open & (1 << l.a) != 0,
            Predicate::In => n.loc[l.a as usize] == l.b,
            Predicate::Holding => n.loc[l.b as usize] == self.held(l.a),
            Predicate::HandFree => {
                let held = self.held(l.a);
                let count = n.loc[..self.movable.len()]
                    .iter()
                    .filter(|x| **x == held)
                    .count();
                count < self.carry[l.a as usize] as usize
            }
        };
        v == l.positive
    }

    fn apply(&self, n: &Node, g: &Grounded) -> Node {
        let mut m = *n;
        for l in &g.eff {
            match (l.predicate, l.positive) {
                (Predicate::At, true) => m.place[l.a as usize] = l.b,
                (Predicate::IsOpen, true) => m.open |= 1 << l.a,
                (Predicate::IsOpen, false) => m.open &= !(1 << l.a),
                (Predicate::Holding, true) => m.loc[l.b as usize] = self.held(l.a),
                (Predicate::In, true) => m.loc[l.a as usize] = l.b,
                _ => {}
            }
        }
        // End-of-step dynamics: objects in a closed heating receptacle become roasted.
        for i in 0..self.movable.len() {
            let at = m.loc[i];
            if (at as usize) < self.receptacles.len()
                && self.heats & (1 << at) != 0
                && m.open & (1 << at) == 0
            {
                m.roasted |= 1 << i;
            }
        }
        m
    }

    /// Index of a movable object.
    pub fn object(&self, name: &str) -> Option<usize> {
        index(&self.movable, name).map(usize::from)
    }

    /// Index of a receptacle.
    pub fn receptacle(&self, name: &str) -> Option<u8> {
        index(&self.receptacles, name)
    }

    /// Whether movable object `i` is in receptacle `rec` at `n`.
    pub fn is_in(&self, n: &Node, i: usize, rec: u8) -> bool {
        n.loc[i] == rec
    }

    /// Whether movable object `i` is roasted at `n`.
    pub fn is_roasted(&self, n: &Node, i: usize) -> bool {
        n.roasted & (1 << i) != 0
    }

    /// Whether some robot sees the contents of `rec` at `n` (reaches it and it is accessible).
    pub fn visible(&self, n: &Node, rec: u8) -> bool {
        self.accessible(n, rec) && (0..self.robots.len() as u8).any(|r| self.reaches(n, r, rec))
    }

    /// Shortest action sequence from `start` to a node where `goal` holds (empty if it holds
    /// already); `None` if no sequence of at most `max_depth` actions reaches it.
    pub fn search(
        &self,
        start: Node,
        goal: impl Fn(&Node) -> bool,
        max_depth: usize,
    ) -> Option<Vec<Action>> {
        if goal(&start) {
            return Some(Vec::new());
        }
        let mut parent: HashMap<Node, (Node, u16, u16)> = HashMap::new();
        let mut queue = VecDeque::from([(start, 0u16)]);
        parent.insert(start, (start, u16::MAX, 0));
        while let Some((n, depth)) = queue.pop_front() {
            if depth as usize >= max_depth {
                continue;
            }
            for (ai, g) in self.actions.iter().enumerate() {
                if !g.pre.iter().all(|l| self.holds(&n, l)) {
                    continue;
                }
                let m = self.apply(&n, g);
                if parent.contains_key(&m) {
                    continue;
                }
                parent.insert(m, (n, ai as u16, depth + 1));
                if goal(&m) {
                    let mut path = Vec::new();
                    let mut cur = m;
                    while cur != start {
                        let (p, a, _) = parent[&cur];
                        path.push(self.actions[a as usize].action.clone());
                        cur = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back((m, depth + 1));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clea_skills::Check;

    fn kitchen() -> WorldVocabulary {
        serde_yaml::from_str(include_str!("../../../sim/worlds/clea-kitchen.yaml"))
            .expect("the kitchen world file is a WorldVocabulary")
    }

    fn start() -> WorldState {
        let mut s = WorldState::default();
        s.robot_place
            .insert("robot_1".into(), "in_front_of_table".into());
        s.location
            .insert("apple".into(), Location::In("drawer_middle".into()));
        s.location
            .insert("hamburger".into(), Location::In("table".into()));
        for r in ["refrigerator", "oven", "drawer_top", "drawer_middle"] {
            s.open.insert(r.into(), false);
        }
        s
    }

    #[test]
    fn finds_a_two_robot_plan() {
        let v = kitchen();
        let p = Problem::new(&v, vec!["apple".into()]).unwrap();
        let i = p.object("apple").unwrap();
        let (oven, table) = (
            p.receptacle("oven").unwrap(),
            p.receptacle("table").unwrap(),
        );
        let plan = p
            .search(
                p.node(&start()),
                |n| p.is_roasted(n, i) && p.is_in(n, i, table),
                30,
            )
            .unwrap();
        let text: Vec<String> = plan.iter().map(|a| a.to_string()).collect();
        assert_eq!(text[0], "open(robot_2, drawer_middle)");
        assert!(text.contains(&"release_to(robot_2, apple, table)".to_string()));
        assert!(text.contains(&"close(robot_1, oven)".to_string()));
        assert_eq!(text.len(), 12, "{text:?}");
        let _ = oven;
    }

    /// The search's predicate semantics agree with `WorldState` (the simulator's) on every
    /// action along pseudo-random walks.
    #[test]
    fn node_semantics_match_world_state() {
        let v = kitchen();
        let movable = vec!["apple".to_string(), "hamburger".to_string()];
        let p = Problem::new(&v, movable).unwrap();
        let mut seed = 12345u64;
        for _walk in 0..50 {
            let mut s = start();
            for _ in 0..40 {
                let n = p.node(&s);
                for g in &p.actions {
                    let by_node = g.pre.iter().all(|l| p.holds(&n, l));
                    let by_state = s.check(&v, &g.action) == Check::Holds;
                    assert_eq!(by_node, by_state, "{} at {s:?}", g.action);
                }
                let feasible: Vec<&Grounded> = p
                    .actions
                    .iter()
                    .filter(|g| g.pre.iter().all(|l| p.holds(&n, l)))
                    .collect();
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let g = feasible[(seed >> 33) as usize % feasible.len()];
                s.apply(&g.action);
                s.settle(&v);
                assert_eq!(p.apply(&n, g), p.node(&s), "after {}", g.action);
            }
        }
    }
}
