//! The detector-based observer: detections with 3D positions → the structured
//! [`RobotObservation`] the agent's observer consumes (`clea/<ns>/robot/<robot>/observation`).
//!
//! Configured, not learned: a label map (detector label → world-vocabulary object, optionally
//! marking it roasted) and receptacle regions (axis-aligned boxes in the target frame of the
//! detections, e.g. `world`). A detection is "in or on" the first region that contains its 3D
//! position; every region that applies at the robot's current place is reported in view, empty
//! or not, so the memory learns where objects are not. Regions may be tied to a navigation
//! point (`place`) for mobile robots; the place and the episode step are tracked from the
//! executed actions (`clea/<ns>/action`): a successful `go_to` of this robot moves it.
//!
//! What a camera cannot tell is not invented: `holding` stays empty, and a region's `open` and
//! `contents_visible` come from the config (a closed container's region reports no contents).

use crate::error::{Error, Result};
use clea_bus::msg::{ActionRecord, Detections, ObservedObject, ReceptacleView, RobotObservation};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a detector label means in the world vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LabelTarget {
    /// The object's name, e.g. `apple`.
    Object(String),
    /// The object's name and whether this label means it is roasted.
    Detailed {
        /// The object's name.
        object: String,
        /// The label shows the object roasted (e.g. a `roasted_apple` class).
        #[serde(default)]
        roasted: bool,
    },
}

impl LabelTarget {
    fn object(&self) -> &str {
        match self {
            LabelTarget::Object(o) | LabelTarget::Detailed { object: o, .. } => o,
        }
    }
    fn roasted(&self) -> bool {
        matches!(self, LabelTarget::Detailed { roasted: true, .. })
    }
}

/// A receptacle's region: an axis-aligned box in the detections' target frame, m.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Receptacle name (world vocabulary), e.g. `table`.
    pub receptacle: String,
    /// Minimum corner `[x, y, z]`, m.
    pub min: [f64; 3],
    /// Maximum corner `[x, y, z]`, m.
    pub max: [f64; 3],
    /// Only in view when the robot is at this navigation point (`None`: always).
    #[serde(default)]
    pub place: Option<String>,
    /// Open state to report for an openable receptacle (`None`: does not open).
    #[serde(default)]
    pub open: Option<bool>,
    /// Whether the camera sees its contents (false for a closed container; default true).
    #[serde(default = "yes")]
    pub contents_visible: bool,
}

fn yes() -> bool {
    true
}

impl RegionConfig {
    /// Whether `p` (target frame, m) lies inside, faces included.
    pub fn contains(&self, p: [f64; 3]) -> bool {
        (0..3).all(|i| p[i] >= self.min[i] && p[i] <= self.max[i])
    }
}

/// Settings of the detector-based observer of one camera (`observer:` of a camera).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserverConfig {
    /// Frame the regions are given in; detections must be located in it (default `world`).
    #[serde(default = "default_frame")]
    pub frame_id: String,
    /// Detector label → object. Labels not listed are ignored.
    #[serde(default)]
    pub labels: BTreeMap<String, LabelTarget>,
    /// Detections below this score are ignored (default 0.5).
    #[serde(default = "default_min_score")]
    pub min_score: f32,
    /// Receptacle regions.
    #[serde(default)]
    pub regions: Vec<RegionConfig>,
    /// The robot's navigation point at the start of an episode (`None` for a fixed robot).
    #[serde(default)]
    pub place: Option<String>,
}

fn default_frame() -> String {
    "world".into()
}

fn default_min_score() -> f32 {
    0.5
}

impl ObserverConfig {
    /// Check names, scores and region corners.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.min_score) {
            return Err(Error::config(
                "observer.min_score",
                format!("{} is outside [0, 1]", self.min_score),
            ));
        }
        for (label, t) in &self.labels {
            if t.object().is_empty() {
                return Err(Error::config(
                    format!("observer.labels.{label}"),
                    "empty object name",
                ));
            }
        }
        for (i, r) in self.regions.iter().enumerate() {
            let field = format!("observer.regions[{i}]");
            if r.receptacle.is_empty() {
                return Err(Error::config(field, "empty receptacle name"));
            }
            if (0..3)
                .any(|k| !(r.min[k].is_finite() && r.max[k].is_finite() && r.min[k] <= r.max[k]))
            {
                return Err(Error::config(
                    field,
                    format!(
                        "min {:?} must be finite and not above max {:?}",
                        r.min, r.max
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// One receptacle being assembled: open state, contents visible, objects (name → roasted).
type View = (Option<bool>, bool, BTreeMap<String, bool>);

/// The observer of one robot: tracks step and place, turns detections into observations.
#[derive(Debug, Clone)]
pub struct DetectorObserver {
    robot: String,
    config: ObserverConfig,
    step: u32,
    place: Option<String>,
}

impl DetectorObserver {
    /// An observer for `robot`.
    ///
    /// # Errors
    /// See [`ObserverConfig::check`].
    pub fn new(robot: impl Into<String>, config: ObserverConfig) -> Result<Self> {
        config.check()?;
        Ok(Self {
            robot: robot.into(),
            place: config.place.clone(),
            config,
            step: 0,
        })
    }

    /// The robot's current navigation point, as tracked.
    pub fn place(&self) -> Option<&str> {
        self.place.as_deref()
    }

    /// The current episode step, as tracked.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// A new episode: step 0, the configured start place.
    pub fn reset(&mut self) {
        self.step = 0;
        self.place = self.config.place.clone();
    }

    /// Track an executed action: the step, and this robot's place after a successful `go_to`.
    pub fn on_action(&mut self, record: &ActionRecord) {
        self.step = record.step;
        if record.call.skill == "go_to"
            && record.call.robot() == Some(self.robot.as_str())
            && record.outcome.is_success()
        {
            if let Some(p) = record
                .call
                .args
                .get("navigation_point")
                .and_then(|v| v.as_str())
            {
                self.place = Some(p.to_string());
            }
        }
    }

    /// The observation `detections` amount to.
    pub fn observe(&self, detections: &Detections) -> RobotObservation {
        let mut views: BTreeMap<&str, View> = BTreeMap::new();
        let active: Vec<&RegionConfig> = self
            .config
            .regions
            .iter()
            .filter(|r| r.place.is_none() || r.place == self.place)
            .collect();
        for r in &active {
            let v = views.entry(r.receptacle.as_str()).or_insert((
                r.open,
                r.contents_visible,
                BTreeMap::new(),
            ));
            v.0 = v.0.or(r.open);
            v.1 &= r.contents_visible;
        }
        let frame_ok = detections.target_frame_id == self.config.frame_id;
        if !frame_ok && !detections.detections.is_empty() {
            tracing::debug!(
                robot = %self.robot,
                got = %detections.target_frame_id,
                want = %self.config.frame_id,
                "detections are not in the observer's frame; ignoring their positions"
            );
        }
        for d in &detections.detections {
            if d.score < self.config.min_score || !frame_ok {
                continue;
            }
            let (Some(target), Some(p)) = (self.config.labels.get(&d.label), d.position) else {
                continue;
            };
            let Some(region) = active.iter().find(|r| r.contains([p.x, p.y, p.z])) else {
                continue;
            };
            if let Some(v) = views.get_mut(region.receptacle.as_str()) {
                if v.1 {
                    let roasted = v.2.entry(target.object().to_string()).or_insert(false);
                    *roasted |= target.roasted();
                }
            }
        }
        RobotObservation {
            robot: self.robot.clone(),
            step: self.step,
            place: self.place.clone(),
            holding: Vec::new(),
            in_view: views
                .into_iter()
                .map(|(name, (open, visible, objects))| ReceptacleView {
                    receptacle: name.to_string(),
                    open,
                    contents_visible: visible,
                    objects: objects
                        .into_iter()
                        .map(|(object, roasted)| ObservedObject { object, roasted })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clea_bus::msg::{BoundingBox2D, Detection, Header, Point3, SkillCall, SkillOutcome};

    fn det(label: &str, score: f32, p: Option<[f64; 3]>) -> Detection {
        Detection {
            label: label.into(),
            class_id: 0,
            score,
            bbox: BoundingBox2D::default(),
            mask: None,
            keypoints: vec![],
            position_camera: None,
            position: p.map(|p| Point3 {
                x: p[0],
                y: p[1],
                z: p[2],
            }),
        }
    }

    fn config() -> ObserverConfig {
        serde_yaml::from_str(
            r#"
labels:
  apple: apple
  roasted apple: {object: apple, roasted: true}
  mug: cup
regions:
  - {receptacle: table, min: [0, 0, 0], max: [1, 1, 1]}
  - {receptacle: oven, min: [2, 0, 0], max: [3, 1, 1], place: in_front_of_oven, open: true}
"#,
        )
        .unwrap()
    }

    fn dets(list: Vec<Detection>) -> Detections {
        Detections {
            header: Header::default(),
            robot: "robot_1".into(),
            camera: "head".into(),
            image_width: 640,
            image_height: 480,
            target_frame_id: "world".into(),
            detections: list,
        }
    }

    #[test]
    fn objects_land_in_the_region_containing_them() {
        let obs = DetectorObserver::new("robot_1", config()).unwrap();
        let o = obs.observe(&dets(vec![
            det("apple", 0.9, Some([0.5, 0.5, 0.5])),
            det("mug", 0.9, Some([0.2, 0.5, 0.5])),
            det("mug", 0.3, Some([0.2, 0.5, 0.5])),
            det("person", 0.9, Some([0.5, 0.5, 0.5])),
            det("apple", 0.9, None),
            det("apple", 0.9, Some([2.5, 0.5, 0.5])), // oven not in view from here
        ]));
        assert_eq!(o.in_view.len(), 1);
        let table = &o.in_view[0];
        assert_eq!(table.receptacle, "table");
        let names: Vec<&str> = table.objects.iter().map(|o| o.object.as_str()).collect();
        assert_eq!(names, vec!["apple", "cup"]);
    }

    #[test]
    fn go_to_moves_the_robot_and_brings_place_regions_into_view() {
        let mut obs = DetectorObserver::new("robot_1", config()).unwrap();
        let mut args = BTreeMap::new();
        args.insert("robot".to_string(), serde_json::json!("robot_1"));
        args.insert(
            "navigation_point".to_string(),
            serde_json::json!("in_front_of_oven"),
        );
        obs.on_action(&ActionRecord {
            step: 3,
            call: SkillCall {
                skill: "go_to".into(),
                args,
            },
            outcome: SkillOutcome::Succeeded,
            accepted: true,
        });
        let o = obs.observe(&dets(vec![det(
            "roasted apple",
            0.8,
            Some([2.5, 0.5, 0.5]),
        )]));
        assert_eq!((o.step, o.place.as_deref()), (3, Some("in_front_of_oven")));
        let oven = o.in_view.iter().find(|v| v.receptacle == "oven").unwrap();
        assert_eq!(oven.open, Some(true));
        assert_eq!(
            oven.objects,
            vec![ObservedObject {
                object: "apple".into(),
                roasted: true
            }]
        );
        obs.reset();
        assert_eq!((obs.step(), obs.place()), (0, None));
    }

    #[test]
    fn bad_regions_are_config_errors() {
        let mut c = config();
        c.regions[0].min = [2.0, 0.0, 0.0];
        let e = DetectorObserver::new("r", c).unwrap_err();
        assert!(e.to_string().contains("observer.regions[0]"), "{e}");
    }
}
