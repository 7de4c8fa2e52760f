//! From pixels and depth to 3D: pinhole intrinsics, a robust depth over a mask or box, and the
//! camera → robot/world transform.
//!
//! The camera frame is the optical frame (x right, y down, z forward, metres). A detection's
//! depth is the median of the valid depth pixels under its mask (or, without a mask, the central
//! half of its box, which keeps most background out), so stray background and missing depth do
//! not move it; its pixel is the mask centroid (or the box centre).

use crate::error::{Error, Result};
use crate::image::DepthImage;
use crate::mask::Mask;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pinhole intrinsics (ROS `camera_info` K), pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intrinsics {
    /// Focal length in x, px.
    pub fx: f64,
    /// Focal length in y, px.
    pub fy: f64,
    /// Principal point x, px.
    pub cx: f64,
    /// Principal point y, px.
    pub cy: f64,
}

impl Intrinsics {
    /// Intrinsics after checking that the focal lengths are positive and everything is finite.
    ///
    /// # Errors
    /// [`Error::Config`] (field `intrinsics`) otherwise.
    pub fn new(fx: f64, fy: f64, cx: f64, cy: f64) -> Result<Self> {
        let k = Self { fx, fy, cx, cy };
        k.check()?;
        Ok(k)
    }

    /// Check that the focal lengths are positive and everything is finite.
    ///
    /// # Errors
    /// [`Error::Config`] (field `intrinsics`) otherwise.
    pub fn check(&self) -> Result<()> {
        let all_finite = [self.fx, self.fy, self.cx, self.cy]
            .iter()
            .all(|v| v.is_finite());
        if !all_finite || self.fx <= 0.0 || self.fy <= 0.0 {
            return Err(Error::config(
                "intrinsics",
                format!(
                    "need finite values and positive focal lengths, got fx={} fy={} cx={} cy={}",
                    self.fx, self.fy, self.cx, self.cy
                ),
            ));
        }
        Ok(())
    }

    /// From a row-major K matrix `[fx, 0, cx, 0, fy, cy, 0, 0, 1]`.
    ///
    /// # Errors
    /// See [`Intrinsics::new`].
    pub fn from_k(k: &[f64; 9]) -> Result<Self> {
        Self::new(k[0], k[4], k[2], k[5])
    }

    /// Parse `fx,fy,cx,cy`.
    ///
    /// # Errors
    /// [`Error::Config`] (field `intrinsics`) when it is not four numbers or they do not check.
    pub fn parse(s: &str) -> Result<Self> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::config("intrinsics", format!("{s:?}: {e} (expected fx,fy,cx,cy)"))
            })?;
        if v.len() != 4 {
            return Err(Error::config(
                "intrinsics",
                format!("{s:?}: expected 4 numbers fx,fy,cx,cy, got {}", v.len()),
            ));
        }
        Self::new(v[0], v[1], v[2], v[3])
    }

    /// The camera-frame point seen at pixel (`u`, `v`) at depth `z` (m).
    pub fn deproject(&self, u: f64, v: f64, z: f64) -> Point3<f64> {
        Point3::new((u - self.cx) * z / self.fx, (v - self.cy) * z / self.fy, z)
    }

    /// The pixel where camera-frame point `p` appears.
    pub fn project(&self, p: &Point3<f64>) -> (f64, f64) {
        (self.fx * p.x / p.z + self.cx, self.fy * p.y / p.z + self.cy)
    }
}

/// Valid depth range, m: readings outside it are treated as invalid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DepthRange {
    /// Nearest valid depth, m (default 0.05).
    pub min: f32,
    /// Farthest valid depth, m (default 20).
    pub max: f32,
}

impl Default for DepthRange {
    fn default() -> Self {
        Self {
            min: 0.05,
            max: 20.0,
        }
    }
}

/// Rigid transform from the camera optical frame into a target frame (`camera_to_target` in a
/// config), with the target frame's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// Name of the target frame, e.g. `world` or `base_link`.
    #[serde(default = "default_frame")]
    pub frame_id: String,
    /// Position of the camera origin in the target frame, m.
    #[serde(default)]
    pub translation: [f64; 3],
    /// Orientation of the camera frame in the target frame as roll, pitch, yaw (rad, extrinsic
    /// x-y-z); mutually exclusive with `quaternion`.
    #[serde(default)]
    pub rpy: Option<[f64; 3]>,
    /// Orientation as a unit quaternion `[x, y, z, w]`.
    #[serde(default)]
    pub quaternion: Option<[f64; 4]>,
}

fn default_frame() -> String {
    "camera".to_string()
}

impl Default for TransformConfig {
    fn default() -> Self {
        Self {
            frame_id: default_frame(),
            translation: [0.0; 3],
            rpy: None,
            quaternion: None,
        }
    }
}

/// A camera → target-frame transform.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTransform {
    /// Target frame name.
    pub frame_id: String,
    /// `p_target = isometry * p_camera`.
    pub isometry: Isometry3<f64>,
}

impl FrameTransform {
    /// The identity into the camera frame itself (named `frame_id`).
    pub fn identity(frame_id: impl Into<String>) -> Self {
        Self {
            frame_id: frame_id.into(),
            isometry: Isometry3::identity(),
        }
    }

    /// Build from a config.
    ///
    /// # Errors
    /// [`Error::Config`] when both `rpy` and `quaternion` are given, a value is not finite, or
    /// the quaternion has zero length.
    pub fn from_config(c: &TransformConfig) -> Result<Self> {
        if c.translation.iter().any(|v| !v.is_finite()) {
            return Err(Error::config(
                "transform.translation",
                "values must be finite",
            ));
        }
        let rotation = match (c.rpy, c.quaternion) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "transform",
                    "give either rpy or quaternion, not both",
                ))
            }
            (Some(r), None) => {
                if r.iter().any(|v| !v.is_finite()) {
                    return Err(Error::config("transform.rpy", "values must be finite"));
                }
                UnitQuaternion::from_euler_angles(r[0], r[1], r[2])
            }
            (None, Some(q)) => {
                let quat = nalgebra::Quaternion::new(q[3], q[0], q[1], q[2]);
                if !(quat.norm().is_finite() && quat.norm() > 1e-9) {
                    return Err(Error::config(
                        "transform.quaternion",
                        "must be a finite, non-zero [x, y, z, w]",
                    ));
                }
                UnitQuaternion::from_quaternion(quat)
            }
            (None, None) => UnitQuaternion::identity(),
        };
        Ok(Self {
            frame_id: c.frame_id.clone(),
            isometry: Isometry3::from_parts(
                Translation3::new(c.translation[0], c.translation[1], c.translation[2]),
                rotation,
            ),
        })
    }

    /// `p` (camera frame) in the target frame.
    pub fn apply(&self, p: &Point3<f64>) -> Point3<f64> {
        self.isometry * p
    }
}

/// Where to read a detection's depth.
#[derive(Debug, Clone, Copy)]
pub enum DepthRegion<'a> {
    /// Under the mask's on pixels.
    Mask(&'a Mask),
    /// In the central half of a box `[x1, y1, x2, y2]` (source pixels).
    Box([f64; 4]),
}

/// At most this many depth samples enter a median (larger regions are strided).
const MAX_SAMPLES: usize = 16_384;

/// The median valid depth (m) in `region`, and the pixel it is attached to (mask centroid or
/// box centre); `None` when no pixel has valid depth.
pub fn robust_depth(
    depth: &DepthImage,
    region: DepthRegion<'_>,
    range: DepthRange,
    scratch: &mut Vec<f32>,
) -> Option<(f32, (f64, f64))> {
    scratch.clear();
    let valid = |v: f32| v.is_finite() && v >= range.min && v <= range.max;
    let pixel;
    match region {
        DepthRegion::Mask(m) => {
            pixel = m.centroid()?;
            let n = m.width as usize * m.height as usize;
            let stride = stride_for(n);
            for r in (0..m.height).step_by(stride) {
                for c in (0..m.width).step_by(stride) {
                    if m.data[r as usize * m.width as usize + c as usize] != 0 {
                        if let Some(v) = depth.get(m.x + c, m.y + r) {
                            if valid(v) {
                                scratch.push(v);
                            }
                        }
                    }
                }
            }
        }
        DepthRegion::Box(b) => {
            pixel = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
            let (w, h) = (b[2] - b[0], b[3] - b[1]);
            let (x1, x2) = (b[0] + w * 0.25, b[2] - w * 0.25);
            let (y1, y2) = (b[1] + h * 0.25, b[3] - h * 0.25);
            // Pixels whose centres lie inside [x1, x2) x [y1, y2); at least the centre pixel.
            let c0 = (x1 - 0.5).ceil().max(0.0) as u32;
            let c1 = ((x2 - 0.5).ceil().max(c0 as f64 + 1.0) as u32).min(depth.width);
            let r0 = (y1 - 0.5).ceil().max(0.0) as u32;
            let r1 = ((y2 - 0.5).ceil().max(r0 as f64 + 1.0) as u32).min(depth.height);
            let n = (c1.saturating_sub(c0) as usize) * (r1.saturating_sub(r0) as usize);
            let stride = stride_for(n);
            for r in (r0..r1).step_by(stride) {
                for c in (c0..c1).step_by(stride) {
                    if let Some(v) = depth.get(c, r) {
                        if valid(v) {
                            scratch.push(v);
                        }
                    }
                }
            }
        }
    }
    if scratch.is_empty() {
        return None;
    }
    let mid = scratch.len() / 2;
    let (_, m, _) = scratch.select_nth_unstable_by(mid, f32::total_cmp);
    Some((*m, pixel))
}

fn stride_for(n: usize) -> usize {
    if n <= MAX_SAMPLES {
        1
    } else {
        ((n as f64 / MAX_SAMPLES as f64).sqrt().ceil() as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deproject_inverts_project() {
        let k = Intrinsics::new(500.0, 510.0, 320.0, 240.0).unwrap();
        let p = Point3::new(0.3, -0.2, 1.7);
        let (u, v) = k.project(&p);
        let q = k.deproject(u, v, 1.7);
        assert!((p - q).norm() < 1e-12);
    }

    #[test]
    fn intrinsics_parse_and_check() {
        assert!(Intrinsics::parse("500,500,320,240").is_ok());
        assert!(Intrinsics::parse("500,500,320").is_err());
        assert!(Intrinsics::parse("0,500,320,240").is_err());
        assert!(Intrinsics::parse("a,b,c,d").is_err());
    }

    #[test]
    fn median_ignores_invalid_and_outliers() {
        let mut data = vec![2.0f32; 100];
        data[0] = f32::NAN;
        data[1] = 0.0;
        data[2] = 50.0;
        let d = DepthImage::from_metres(10, 10, data).unwrap();
        let mut s = Vec::new();
        let (z, px) = robust_depth(
            &d,
            DepthRegion::Box([0.0, 0.0, 10.0, 10.0]),
            DepthRange::default(),
            &mut s,
        )
        .unwrap();
        assert_eq!(z, 2.0);
        assert_eq!(px, (5.0, 5.0));
    }

    #[test]
    fn transform_rpy_rotates() {
        let t = FrameTransform::from_config(&TransformConfig {
            frame_id: "world".into(),
            translation: [1.0, 2.0, 3.0],
            rpy: Some([0.0, 0.0, std::f64::consts::FRAC_PI_2]),
            quaternion: None,
        })
        .unwrap();
        let p = t.apply(&Point3::new(1.0, 0.0, 0.0));
        assert!((p - Point3::new(1.0, 3.0, 3.0)).norm() < 1e-12);
    }
}
