//! The structured observer: robot observations (ground-truth views in simulation, detector-based
//! ones on a robot) → `o_t` with a text rendering.

use crate::modules::{ModuleError, Observer};
use async_trait::async_trait;
use clea_bus::msg::{Observation, RobotObservation};
use std::fmt::Write as _;

/// Combines the newest observation of each robot.
#[derive(Debug, Default, Clone)]
pub struct StructuredObserver;

#[async_trait]
impl Observer for StructuredObserver {
    async fn observe(
        &mut self,
        step: u32,
        robots: &[RobotObservation],
    ) -> Result<Observation, ModuleError> {
        Ok(build(step, robots))
    }
}

/// `o_t` from the robots' observations, sorted by robot.
pub fn build(step: u32, robots: &[RobotObservation]) -> Observation {
    let mut robots = robots.to_vec();
    robots.sort_by(|a, b| a.robot.cmp(&b.robot));
    let text = render(&robots);
    Observation { step, robots, text }
}

/// Text rendering: one line per robot, what it holds and sees. Object and receptacle names are
/// data, quoted as such for prompts.
pub fn render(robots: &[RobotObservation]) -> String {
    let mut t = String::new();
    for o in robots {
        let place = o.place.as_deref().unwrap_or("its fixed base");
        let held = if o.holding.is_empty() {
            "nothing".to_string()
        } else {
            o.holding.join(", ")
        };
        let _ = write!(
            t,
            "{} (step {}) is at {place}, holding {held}; sees",
            o.robot, o.step
        );
        if o.in_view.is_empty() {
            t.push_str(" nothing");
        }
        for (i, v) in o.in_view.iter().enumerate() {
            t.push_str(if i == 0 { " " } else { "; " });
            t.push_str(&v.receptacle);
            match v.open {
                Some(true) => t.push_str(" (open)"),
                Some(false) => t.push_str(" (closed)"),
                None => {}
            }
            if !v.contents_visible {
                t.push_str(" with hidden contents");
            } else if v.objects.is_empty() {
                t.push_str(" with nothing in it");
            } else {
                let names: Vec<String> = v
                    .objects
                    .iter()
                    .map(|x| {
                        if x.roasted {
                            format!("{} (roasted)", x.object)
                        } else {
                            x.object.clone()
                        }
                    })
                    .collect();
                let _ = write!(t, " with {}", names.join(", "));
            }
        }
        t.push_str(".\n");
    }
    t
}
