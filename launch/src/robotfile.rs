//! Robot launch files (YAML): the ROS 2 adapter of one robot ([`Ros2LaunchFile`], e.g.
//! `launch/files/mobile-manipulator.yaml`), told apart from actor launch files by their
//! top-level `robot:` section.
//!
//! Checked before anything starts: the YAML's fields (unknown or mistyped ones name their line),
//! the bus, the robot against its `world:` (a mapping for every skill the robot's capabilities
//! allow, a pose for every navigation point, interface type names, ROS 2 names). Whether the
//! interface types exist in the ROS 2 install is checked when the adapter starts (it needs the
//! install). An error is one line: `file: where: why`.

use crate::perception::PerceptionSection;
use clea_bus::msg::WorldVocabulary;
use clea_skills::ros2::Ros2LaunchFile;
use std::path::Path;

/// Whether the YAML text is a robot launch file: its `kind:` says `robot`, or, without a
/// `kind:`, it is a mapping with a `robot:` key. A file that does not parse (a syntax error, a
/// duplicate key) counts as one when a line starts with `kind: robot` or `robot:`, so its error
/// comes from the robot file's checks, not the actor launch file's. Any other `kind:` is the
/// actor launch file's to refuse.
pub fn is_robot_file(text: &str) -> bool {
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(v) => v.as_mapping().is_some_and(|m| match m.get("kind") {
            Some(k) => k.as_str() == Some("robot"),
            None => m.contains_key("robot"),
        }),
        Err(_) if text.lines().any(|l| l.starts_with("kind:")) => {
            text.lines().any(|l| l.trim_end() == "kind: robot")
        }
        Err(_) => text
            .lines()
            .any(|l| l.starts_with("robot:") || l.starts_with("\"robot\":")),
    }
}

/// A checked robot launch file and the world it names.
#[derive(Debug)]
pub struct RobotLaunch {
    /// The file's content (its perception section checked, paths resolved).
    pub file: Ros2LaunchFile<PerceptionSection>,
    /// The robot's world, when `world:` names one.
    pub world: Option<WorldVocabulary>,
}

/// Load and check a robot launch file; the error is one line `file: where: why`.
pub fn load(path: &Path, text: &str) -> Result<RobotLaunch, String> {
    let file = path.display();
    let mut lf: Ros2LaunchFile<PerceptionSection> =
        serde_yaml::from_str(text).map_err(|e| crate::launchfile::yaml_error(path, &e))?;
    crate::launchfile::check_bus(&lf.bus)
        .map_err(|(field, why)| format!("{file}: {field}: {why}"))?;
    let world = match &lf.world {
        Some(w) => {
            let w = if w.is_relative() {
                path.parent().unwrap_or(Path::new(".")).join(w)
            } else {
                w.clone()
            };
            let vocab =
                clea_sim::scenario::load_world(&w).map_err(|e| format!("{file}: world: {e}"))?;
            lf.robot
                .validate_for_world(&vocab)
                .map_err(|e| format!("{file}: robot: {e} (world {})", w.display()))?;
            Some(vocab)
        }
        None => {
            lf.robot
                .validate(&[], &[])
                .map_err(|e| format!("{file}: robot: {e}"))?;
            None
        }
    };
    let cameras = lf.robot.cameras.keys().map(String::as_str).collect();
    let robot = Some((lf.robot.name.as_str(), cameras));
    if let Some(p) = lf.perception.as_mut() {
        crate::perception::check(path, p, robot)?;
    }
    Ok(RobotLaunch { file: lf, world })
}

impl RobotLaunch {
    /// One line for `--check` and the start-up message: what the adapter bridges.
    pub fn summary(&self) -> String {
        let r = &self.file.robot;
        let skills: Vec<&str> = r.skills.keys().map(String::as_str).collect();
        let cameras: Vec<String> = r
            .cameras
            .iter()
            .map(|(name, c)| {
                let kind = if c.compressed() { "compressed" } else { "raw" };
                let depth = if c.depth_topic.is_some() {
                    " + depth"
                } else {
                    ""
                };
                format!("{name} ({kind}{depth})")
            })
            .collect();
        format!(
            "robot {} on clea/{}/: skills [{}], cameras [{}], odometry {}, {} named poses, e-stop {}",
            r.name,
            self.file.bus.namespace,
            skills.join(", "),
            cameras.join(", "),
            r.odometry_topic.as_deref().unwrap_or("none"),
            r.poses.len(),
            r.estop.as_ref().map_or("none", |e| e.topic.as_str()),
        ) + &self
            .file
            .perception
            .as_ref()
            .map(|p| format!("; {}", crate::perception::summary(p)))
            .unwrap_or_default()
            + &match &self.world {
            Some(w) => format!(
                "; checked against its world ({} robots, {} navigation points)",
                w.robots.len(),
                w.navigation_points.len()
            ),
            None => "; no world: skills and poses not checked against one".into(),
        }
    }
}
