//! The one place that builds key expressions.
//!
//! Every key lives under `clea/<ns>/`, so several robots fleets (or test cases) share one zenoh
//! network without seeing each other. Names that go into a key are checked: only
//! `[A-Za-z0-9_-]`, so a world name can never inject a wildcard (`*`, `**`) or a separator.

use crate::BusError;

/// Key expression builder for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    ns: String,
}

/// Check that `name` may be one chunk of a key expression.
///
/// # Errors
/// [`BusError::InvalidName`] when it is empty or has a character outside `[A-Za-z0-9_-]`.
pub fn check_chunk(name: &str) -> Result<(), BusError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(BusError::InvalidName(name.to_string()));
    }
    Ok(())
}

impl Keys {
    /// Keys for namespace `ns` (one chunk, `[A-Za-z0-9_-]`).
    ///
    /// # Errors
    /// [`BusError::InvalidName`] for a namespace that is not a single valid chunk.
    pub fn new(ns: &str) -> Result<Self, BusError> {
        check_chunk(ns)?;
        Ok(Self { ns: ns.to_string() })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// `clea/<ns>/**`: everything of this namespace (what the episode recorder subscribes to).
    pub fn all(&self) -> String {
        format!("clea/{}/**", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/observation`: a robot's observation after each skill.
    pub fn robot_observation(&self, robot: &str) -> String {
        format!("clea/{}/robot/{robot}/observation", self.ns)
    }

    /// `clea/<ns>/robot/*/observation`.
    pub fn any_robot_observation(&self) -> String {
        format!("clea/{}/robot/*/observation", self.ns)
    }

    /// `clea/<ns>/observation`: the observer's structured observation `o_t`.
    pub fn observation(&self) -> String {
        format!("clea/{}/observation", self.ns)
    }

    /// `clea/<ns>/belief`: the memory's belief `b_t`.
    pub fn belief(&self) -> String {
        format!("clea/{}/belief", self.ns)
    }

    /// `clea/<ns>/plan`: the planner's plan.
    pub fn plan(&self) -> String {
        format!("clea/{}/plan", self.ns)
    }

    /// `clea/<ns>/verdict`: the critic's verdicts.
    pub fn verdict(&self) -> String {
        format!("clea/{}/verdict", self.ns)
    }

    /// `clea/<ns>/estop`: emergency stop.
    pub fn estop(&self) -> String {
        format!("clea/{}/estop", self.ns)
    }

    /// `clea/<ns>/episode/event`: the simulator's event log and controller transitions.
    pub fn episode_event(&self) -> String {
        format!("clea/{}/episode/event", self.ns)
    }

    /// `clea/<ns>/action`: executed actions with their outcome.
    pub fn action(&self) -> String {
        format!("clea/{}/action", self.ns)
    }

    /// `clea/<ns>/episode/transition`: episode controller transitions.
    pub fn transition(&self) -> String {
        format!("clea/{}/episode/transition", self.ns)
    }

    /// `clea/<ns>/agent/<module>` (queryable): request/reply of one agent module
    /// (`observer`, `memory`, `planner`, `critic`, `executor`).
    pub fn agent(&self, module: &str) -> String {
        format!("clea/{}/agent/{module}", self.ns)
    }

    /// `clea/<ns>/model/call`: every model call (request, reply, usage, validation outcome).
    pub fn model_call(&self) -> String {
        format!("clea/{}/model/call", self.ns)
    }

    /// `clea/<ns>/sim/episode/start` (queryable): reset the world, reply with the task.
    pub fn sim_start(&self) -> String {
        format!("clea/{}/sim/episode/start", self.ns)
    }

    /// `clea/<ns>/sim/task/list` (queryable): the instances a domain simulator serves.
    pub fn task_list(&self) -> String {
        format!("clea/{}/sim/task/list", self.ns)
    }

    /// `clea/<ns>/sim/task/start` (queryable): load a task instance of a domain simulator.
    pub fn task_start(&self) -> String {
        format!("clea/{}/sim/task/start", self.ns)
    }

    /// `clea/<ns>/sim/task/end` (queryable): the domain simulator's scorer on the episode.
    pub fn task_end(&self) -> String {
        format!("clea/{}/sim/task/end", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/facts` (queryable): what a robot perceives now, as facts.
    ///
    /// # Errors
    /// [`BusError::InvalidName`] for a robot name that is not a valid chunk.
    pub fn robot_facts(&self, robot: &str) -> Result<String, BusError> {
        check_chunk(robot)?;
        Ok(format!("clea/{}/robot/{robot}/facts", self.ns))
    }

    /// `clea/<ns>/sim/episode/end` (queryable): report the end, reply with the score.
    pub fn sim_end(&self) -> String {
        format!("clea/{}/sim/episode/end", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/skill/<skill>/<part>` for the skill action protocol.
    pub fn skill(&self, robot: &str, skill: &str, part: SkillPart) -> String {
        format!(
            "clea/{}/robot/{robot}/skill/{skill}/{}",
            self.ns,
            part.as_str()
        )
    }

    /// `clea/<ns>/robot/*/skill/*/server`: every skill server's liveliness token.
    pub fn any_skill_server(&self) -> String {
        format!("clea/{}/robot/*/skill/*/server", self.ns)
    }
}

/// The parts of the skill action protocol, one key each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillPart {
    /// Queryable: send a goal, get accepted/rejected.
    Goal,
    /// Publication: progress of a goal.
    Feedback,
    /// Publication: the terminal result of a goal.
    Result,
    /// Queryable: cancel a goal.
    Cancel,
    /// Liveliness token of the server.
    Server,
}

impl SkillPart {
    /// The last key chunk.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillPart::Goal => "goal",
            SkillPart::Feedback => "feedback",
            SkillPart::Result => "result",
            SkillPart::Cancel => "cancel",
            SkillPart::Server => "server",
        }
    }
}

/// Keys of the perception pipeline (camera frames in, detections out).
impl Keys {
    /// `clea/<ns>/robot/<robot>/camera/<cam>/image`: colour images (`msg::CameraImage`).
    pub fn camera_image(&self, robot: &str, camera: &str) -> String {
        format!("clea/{}/robot/{robot}/camera/{camera}/image", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/camera/<cam>/depth`: depth images aligned to the colour image
    /// (`msg::CameraImage`, `16UC1` mm or `32FC1` m).
    pub fn camera_depth(&self, robot: &str, camera: &str) -> String {
        format!("clea/{}/robot/{robot}/camera/{camera}/depth", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/camera/<cam>/image_compressed`: compressed colour images
    /// (`msg::CompressedImage`, JPEG or PNG bytes).
    pub fn camera_compressed(&self, robot: &str, camera: &str) -> String {
        format!(
            "clea/{}/robot/{robot}/camera/{camera}/image_compressed",
            self.ns
        )
    }

    /// `clea/<ns>/robot/<robot>/odom`: odometry of the robot's base (`msg::Odometry`).
    pub fn odometry(&self, robot: &str) -> String {
        format!("clea/{}/robot/{robot}/odom", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/camera/<cam>/camera_info`: calibration (`msg::CameraInfo`).
    pub fn camera_info(&self, robot: &str, camera: &str) -> String {
        format!("clea/{}/robot/{robot}/camera/{camera}/camera_info", self.ns)
    }

    /// `clea/<ns>/robot/<robot>/perception/detections`: detections (`msg::Detections`).
    pub fn detections(&self, robot: &str) -> String {
        format!("clea/{}/robot/{robot}/perception/detections", self.ns)
    }

    /// `clea/<ns>/robot/*/perception/detections`.
    pub fn any_detections(&self) -> String {
        format!("clea/{}/robot/*/perception/detections", self.ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced() {
        let k = Keys::new("kitchen").unwrap();
        assert_eq!(k.all(), "clea/kitchen/**");
        assert_eq!(
            k.skill("robot_1", "go_to", SkillPart::Goal),
            "clea/kitchen/robot/robot_1/skill/go_to/goal"
        );
        assert_eq!(
            k.robot_observation("robot_2"),
            "clea/kitchen/robot/robot_2/observation"
        );
    }

    #[test]
    fn wildcards_and_separators_are_rejected() {
        for bad in ["", "a/b", "*", "**", "a b", "x$"] {
            assert!(Keys::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
