//! One frame to bus detections: a [`Detector`], then (with aligned depth and intrinsics) each
//! detection's 3D position in the camera frame and in the target frame.

use crate::detector::{Detector, ImageDetection};
use crate::error::{Error, Result};
use crate::geometry::{robust_depth, DepthRange, DepthRegion, FrameTransform, Intrinsics};
use crate::image::{DepthImage, Image};
use clea_bus::msg::{BoundingBox2D, Detection, Point3};

/// Depth, intrinsics and transform for locating detections in 3D.
#[derive(Debug, Clone, Copy)]
pub struct Geometry<'a> {
    /// Depth aligned to the colour image (same size).
    pub depth: &'a DepthImage,
    /// Pinhole intrinsics of the colour image.
    pub intrinsics: &'a Intrinsics,
    /// Camera → target frame.
    pub transform: &'a FrameTransform,
    /// Valid depth range.
    pub range: DepthRange,
}

/// A detector plus the 3D step; reusable scratch between frames.
pub struct Pipeline {
    detector: Box<dyn Detector>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("labels", &self.detector.labels())
            .finish()
    }
}

impl Pipeline {
    /// A pipeline around `detector`.
    pub fn new(detector: Box<dyn Detector>) -> Self {
        Self {
            detector,
            scratch: Vec::new(),
        }
    }

    /// The detector.
    pub fn detector(&self) -> &dyn Detector {
        self.detector.as_ref()
    }

    /// Detect in `image` (source pixels, no 3D).
    ///
    /// # Errors
    /// See [`Detector::detect`].
    pub fn detect(&mut self, image: &Image) -> Result<Vec<ImageDetection>> {
        self.detector.detect(image)
    }

    /// Detect in `image` and, with `geometry`, locate each detection in 3D.
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] when the depth image is not the colour image's size (checked
    /// before inference), and see [`Detector::detect`].
    pub fn process(
        &mut self,
        image: &Image,
        geometry: Option<Geometry<'_>>,
    ) -> Result<Vec<Detection>> {
        if let Some(g) = &geometry {
            check_same_size(image, g.depth)?;
        }
        let dets = self.detector.detect(image)?;
        Ok(to_bus(&dets, geometry, &mut self.scratch))
    }
}

/// Check that `depth` has `image`'s size.
///
/// # Errors
/// [`Error::SizeMismatch`] otherwise.
pub fn check_same_size(image: &Image, depth: &DepthImage) -> Result<()> {
    if depth.width != image.width() || depth.height != image.height() {
        return Err(Error::SizeMismatch {
            what: format!("depth image for {}", image.source()),
            expected_w: image.width(),
            expected_h: image.height(),
            found_w: depth.width,
            found_h: depth.height,
        });
    }
    Ok(())
}

/// Bus detections from image detections, located in 3D when `geometry` is given (a detection
/// without valid depth keeps `position: None`).
pub fn to_bus(
    dets: &[ImageDetection],
    geometry: Option<Geometry<'_>>,
    scratch: &mut Vec<f32>,
) -> Vec<Detection> {
    dets.iter()
        .map(|d| {
            let (position_camera, position) = match &geometry {
                Some(g) => {
                    let region = match &d.mask {
                        Some(m) if m.area() > 0 => DepthRegion::Mask(m),
                        _ => DepthRegion::Box(d.bbox),
                    };
                    match robust_depth(g.depth, region, g.range, scratch) {
                        Some((z, (u, v))) => {
                            let pc = g.intrinsics.deproject(u, v, f64::from(z));
                            let pt = g.transform.apply(&pc);
                            (Some(point(&pc)), Some(point(&pt)))
                        }
                        None => (None, None),
                    }
                }
                None => (None, None),
            };
            Detection {
                label: d.label.clone(),
                class_id: d.class_id as u32,
                score: d.score,
                bbox: BoundingBox2D {
                    x_min: d.bbox[0],
                    y_min: d.bbox[1],
                    x_max: d.bbox[2],
                    y_max: d.bbox[3],
                },
                mask: d.mask.as_ref().map(|m| m.to_rle()),
                keypoints: d.keypoints.clone(),
                position_camera,
                position,
            }
        })
        .collect()
}

fn point(p: &nalgebra::Point3<f64>) -> Point3 {
    Point3 {
        x: p.x,
        y: p.y,
        z: p.z,
    }
}
