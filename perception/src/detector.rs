//! The [`Detector`] trait (an image in, detections in source pixels out) and its ONNX
//! implementation [`OnnxDetector`]: letterbox + normalise ([`Preprocessor`]), one
//! `session.run`, then the family's decoder.
//!
//! Model contract, checked when the model loads (a model that does not fit is an
//! [`Error::ModelShape`] naming the input or output):
//! - input 0: `[1, 3, H, W]` `f32` (RGB; YOLO: `/255`, CenterFace: 0–255), letterboxed;
//!   a dynamic H or W takes [`DetectorConfig::input_size`], else [`DEFAULT_DYNAMIC_SIDE`];
//! - `yolo`: output 0 `[1, 4 + nc, N]`;
//! - `yolo-seg`: output 0 `[1, 4 + nc + 32, N]`, output 1 `[1, 32, H/4, W/4]`;
//! - `centerface`: outputs heatmap `[1, 1, H/4, W/4]`, scale `[1, 2, ..]`, offset `[1, 2, ..]`,
//!   landmarks `[1, 10, ..]` in that order.
//!
//! Labels come from the config, else from the model's `names` metadata (Ultralytics exports
//! write `{0: 'person', ...}` there), else `face` for CenterFace and `class_<i>` otherwise.

use crate::decode::centerface::{self, CenterFaceOutputs, CenterFaceParams};
use crate::decode::seg::{self, Protos};
use crate::decode::yolo::{self, YoloParams};
use crate::decode::{Candidate, ShapeError};
use crate::error::{Error, Result};
use crate::image::{Image, Letterbox, Normalization, Preprocessor};
use crate::mask::Mask;
use crate::session::{Model, RuntimeConfig, TensorInfo};
use ort::value::TensorRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Number of mask coefficients per anchor in Ultralytics seg exports.
pub const MASK_COEFFICIENTS: usize = 32;

/// Which decoder reads the model's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Ultralytics YOLO detect export (`yolo`).
    Yolo,
    /// Ultralytics YOLO segmentation export (`yolo-seg`).
    YoloSeg,
    /// CenterFace face detector (`centerface`).
    Centerface,
}

impl Family {
    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Yolo => "yolo",
            Family::YoloSeg => "yolo-seg",
            Family::Centerface => "centerface",
        }
    }
}

impl std::str::FromStr for Family {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "yolo" => Ok(Family::Yolo),
            "yolo-seg" => Ok(Family::YoloSeg),
            "centerface" => Ok(Family::Centerface),
            _ => Err(Error::config(
                "family",
                format!("unknown family {s:?} (expected yolo, yolo-seg or centerface)"),
            )),
        }
    }
}

/// A detector's settings (`detector:` in a perception config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// The ONNX model file.
    pub model: PathBuf,
    /// Its family (decoder).
    pub family: Family,
    /// Class labels by index; empty: from the model's metadata (see the module docs).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Score threshold (default: 0.25 for YOLO, 0.5 for CenterFace).
    #[serde(default)]
    pub conf_threshold: Option<f32>,
    /// NMS IoU threshold (default: 0.7 for YOLO, 0.3 for CenterFace).
    #[serde(default)]
    pub iou_threshold: Option<f32>,
    /// At most this many detections per image (default 300).
    #[serde(default = "default_max_det")]
    pub max_detections: usize,
    /// NMS across classes (default false: class-aware).
    #[serde(default)]
    pub class_agnostic: bool,
    /// Model input `[width, height]`, px, for models whose input size is dynamic (default
    /// [`DEFAULT_DYNAMIC_SIDE`] for a dynamic side); must match a static one.
    #[serde(default)]
    pub input_size: Option<[u32; 2]>,
    /// ONNX Runtime settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
}

fn default_max_det() -> usize {
    300
}

impl DetectorConfig {
    /// A config with the family's defaults.
    pub fn new(model: impl Into<PathBuf>, family: Family) -> Self {
        Self {
            model: model.into(),
            family,
            labels: Vec::new(),
            conf_threshold: None,
            iou_threshold: None,
            max_detections: default_max_det(),
            class_agnostic: false,
            input_size: None,
            runtime: RuntimeConfig::default(),
        }
    }

    fn check(&self) -> Result<()> {
        for (field, v) in [
            ("conf_threshold", self.conf_threshold),
            ("iou_threshold", self.iou_threshold),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::config(
                        format!("detector.{field}"),
                        format!("{v} is outside [0, 1]"),
                    ));
                }
            }
        }
        if self.max_detections == 0 {
            return Err(Error::config(
                "detector.max_detections",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// One detection in source-image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDetection {
    /// Class index.
    pub class_id: usize,
    /// Class label.
    pub label: String,
    /// Score in `[0, 1]`.
    pub score: f32,
    /// Box `[x1, y1, x2, y2]`, source pixels, clipped to the image.
    pub bbox: [f64; 4],
    /// Instance mask (YOLO seg), cropped to the box.
    pub mask: Option<Mask>,
    /// Keypoints, source pixels (CenterFace: eyes, nose, mouth corners).
    pub keypoints: Vec<[f64; 2]>,
}

/// An image in, detections in source pixels out (best score first).
pub trait Detector: Send {
    /// Detect objects in `image`.
    ///
    /// # Errors
    /// Implementation-specific; the ONNX one returns [`Error::Inference`] or
    /// [`Error::ModelShape`] when the model misbehaves.
    fn detect(&mut self, image: &Image) -> Result<Vec<ImageDetection>>;

    /// Class labels by index.
    fn labels(&self) -> &[String];
}

/// A [`Detector`] running an ONNX model through ort.
#[derive(Debug)]
pub struct OnnxDetector {
    model: Model,
    family: Family,
    pre: Preprocessor,
    labels: Vec<String>,
    yolo: YoloParams,
    centerface: CenterFaceParams,
    input_name: String,
}

/// Input side, px, for a dynamic model input without a configured size (Ultralytics' default
/// `imgsz`).
pub const DEFAULT_DYNAMIC_SIDE: u32 = 640;

fn shape_err(path: &Path, field: &str, expected: impl Into<String>, found: &TensorInfo) -> Error {
    Error::ModelShape {
        path: path.to_path_buf(),
        field: format!("{field} {:?}", found.name),
        expected: expected.into(),
        found: found.describe(),
    }
}

fn from_shape_error(path: &Path, e: ShapeError) -> Error {
    Error::ModelShape {
        path: path.to_path_buf(),
        field: e.field,
        expected: e.expected,
        found: e.found,
    }
}

impl OnnxDetector {
    /// Load the model and check it against its family.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid thresholds, [`Error::Runtime`] when ONNX Runtime cannot be
    /// loaded, [`Error::Model`] for a missing or invalid file, [`Error::ModelShape`] when the
    /// inputs or outputs do not fit the family.
    pub fn new(config: &DetectorConfig) -> Result<Self> {
        config.check()?;
        let model = Model::load(&config.model, &config.runtime)?;
        let path = model.path.clone();
        // Input 0: [1, 3, H, W] f32.
        let input = model.inputs.first().ok_or_else(|| Error::ModelShape {
            path: path.clone(),
            field: "inputs".into(),
            expected: "one image input [1, 3, H, W] f32".into(),
            found: "no inputs".into(),
        })?;
        let want = "[1, 3, H, W] f32";
        let s = &input.shape;
        if !input.is_f32 || s.len() != 4 || !(s[0] == 1 || s[0] < 0) || s[1] != 3 {
            return Err(shape_err(&path, "input", want, input));
        }
        let (w, h) = match (s[3], s[2], config.input_size) {
            (w, h, None) if w > 0 && h > 0 => (w as u32, h as u32),
            // A dynamic export (`[?, 3, ?, ?]`) without a configured size: Ultralytics' default
            // export size for a dynamic side, the declared one for a static side.
            (w, h, None) if w <= 0 || h <= 0 => {
                let side = |d: i64| {
                    if d > 0 {
                        d as u32
                    } else {
                        DEFAULT_DYNAMIC_SIDE
                    }
                };
                let (w, h) = (side(w), side(h));
                tracing::info!(model = %path.display(), width = w, height = h,
                    "dynamic model input: using {w}x{h} (set detector.input_size, or clea perceive --input-size, for another)");
                (w, h)
            }
            (w, h, Some([cw, ch])) if (w < 0 || w as u32 == cw) && (h < 0 || h as u32 == ch) => {
                (cw, ch)
            }
            (_, _, Some([cw, ch])) => {
                return Err(shape_err(
                    &path,
                    "input",
                    format!("[1, 3, {ch}, {cw}] f32 (detector.input_size)"),
                    input,
                ))
            }
            _ => {
                return Err(shape_err(
                    &path,
                    "input",
                    "static H and W (or set detector.input_size for a dynamic input)",
                    input,
                ))
            }
        };
        if w == 0 || h == 0 {
            return Err(shape_err(&path, "input", want, input));
        }
        let nc = check_outputs(&path, config.family, &model.outputs, w, h)?;
        let labels = labels(config, &model, nc)?;
        let norm = match config.family {
            Family::Centerface => Normalization::CENTERFACE,
            _ => Normalization::YOLO,
        };
        let yolo = YoloParams {
            conf_threshold: config.conf_threshold.unwrap_or(0.25),
            iou_threshold: config.iou_threshold.unwrap_or(0.7),
            max_detections: config.max_detections,
            class_agnostic: config.class_agnostic,
        };
        let centerface = CenterFaceParams {
            score_threshold: config.conf_threshold.unwrap_or(0.5),
            iou_threshold: config.iou_threshold.unwrap_or(0.3),
            max_detections: config.max_detections,
        };
        Ok(Self {
            input_name: input.name.clone(),
            pre: Preprocessor::new(w, h, norm),
            model,
            family: config.family,
            labels,
            yolo,
            centerface,
        })
    }

    /// The loaded model (path, inputs, outputs, provider).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The loaded model, mutably (e.g. to time a bare `session.run` on the same session).
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Model input `(width, height)`, px.
    pub fn input_size(&self) -> (u32, u32) {
        self.pre.input_size()
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    fn infer(&mut self, lb: &Letterbox) -> Result<Vec<ImageDetection>> {
        let (w, h) = self.pre.input_size();
        let path = self.model.path.clone();
        let inference = |e: ort::Error| Error::Inference {
            path: path.clone(),
            reason: e.to_string(),
        };
        let tensor =
            TensorRef::from_array_view(([1usize, 3, h as usize, w as usize], self.pre.tensor()))
                .map_err(inference)?;
        let outputs = self
            .model
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(inference)?;
        let mut views: Vec<(Vec<usize>, &[f32])> = Vec::with_capacity(outputs.len());
        for i in 0..outputs.len() {
            let (shape, data) =
                outputs[i]
                    .try_extract_tensor::<f32>()
                    .map_err(|e| Error::Inference {
                        path: path.clone(),
                        reason: format!("output {i}: {e}"),
                    })?;
            views.push((shape.iter().map(|&d| d.max(0) as usize).collect(), data));
        }
        let shape_error = |e: ShapeError| from_shape_error(&path, e);
        let to_source = |c: &Candidate| lb.box_to_source(c.bbox);
        let mut dets = Vec::new();
        match self.family {
            Family::Yolo | Family::YoloSeg => {
                let seg = self.family == Family::YoloSeg;
                let nm = if seg { MASK_COEFFICIENTS } else { 0 };
                let (shape0, out0) = &views[0];
                let cands = yolo::decode(out0, shape0, nm, &self.yolo).map_err(shape_error)?;
                let protos = if seg {
                    let (shape1, out1) = views.get(1).ok_or_else(|| {
                        shape_error(ShapeError::new("output 1", "mask prototypes", &[]))
                    })?;
                    let p = Protos::new(out1, shape1).map_err(shape_error)?;
                    if p.channels != MASK_COEFFICIENTS {
                        return Err(shape_error(ShapeError::new(
                            "output 1 (mask prototypes)",
                            "[1, 32, H/4, W/4]",
                            shape1,
                        )));
                    }
                    Some(p)
                } else {
                    None
                };
                for c in &cands {
                    let bbox = to_source(c);
                    let has_area = bbox[2] > bbox[0] && bbox[3] > bbox[1]; // false for NaN
                    if !has_area {
                        continue;
                    }
                    let mask = protos.as_ref().map(|p| {
                        let coeffs = yolo::mask_coefficients(out0, shape0, nm, c.anchor);
                        seg::mask(&coeffs, p, bbox, lb, 0.0)
                    });
                    dets.push(ImageDetection {
                        class_id: c.class_id,
                        label: label_of(&self.labels, c.class_id),
                        score: c.score,
                        bbox,
                        mask,
                        keypoints: Vec::new(),
                    });
                }
            }
            Family::Centerface => {
                if views.len() < 4 {
                    return Err(shape_error(ShapeError::new(
                        "outputs",
                        "4 outputs (heatmap, scale, offset, landmarks)",
                        &[views.len()],
                    )));
                }
                let o = CenterFaceOutputs::new([
                    (views[0].1, &views[0].0),
                    (views[1].1, &views[1].0),
                    (views[2].1, &views[2].0),
                    (views[3].1, &views[3].0),
                ])
                .map_err(shape_error)?;
                for c in centerface::decode(&o, w, h, &self.centerface) {
                    let bbox = to_source(&c);
                    let has_area = bbox[2] > bbox[0] && bbox[3] > bbox[1]; // false for NaN
                    if !has_area {
                        continue;
                    }
                    let keypoints = c
                        .keypoints
                        .iter()
                        .map(|k| {
                            let (x, y) = lb.to_source(k[0] as f64, k[1] as f64);
                            [x, y]
                        })
                        .collect();
                    dets.push(ImageDetection {
                        class_id: 0,
                        label: label_of(&self.labels, 0),
                        score: c.score,
                        bbox,
                        mask: None,
                        keypoints,
                    });
                }
            }
        }
        Ok(dets)
    }
}

impl Detector for OnnxDetector {
    fn detect(&mut self, image: &Image) -> Result<Vec<ImageDetection>> {
        let lb = self.pre.run(image)?;
        self.infer(&lb)
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }
}

fn label_of(labels: &[String], class_id: usize) -> String {
    labels
        .get(class_id)
        .cloned()
        .unwrap_or_else(|| format!("class_{class_id}"))
}

/// Check the outputs against the family; returns the number of classes when known.
fn check_outputs(
    path: &Path,
    family: Family,
    outputs: &[TensorInfo],
    w: u32,
    h: u32,
) -> Result<Option<usize>> {
    let need = match family {
        Family::Yolo => 1,
        Family::YoloSeg => 2,
        Family::Centerface => 4,
    };
    if outputs.len() < need {
        return Err(Error::ModelShape {
            path: path.to_path_buf(),
            field: "outputs".into(),
            expected: format!("{need} output(s) for family {}", family.as_str()),
            found: format!("{} output(s)", outputs.len()),
        });
    }
    for o in &outputs[..need] {
        if !o.is_f32 {
            return Err(shape_err(path, "output", "f32", o));
        }
    }
    let dim_ok = |d: i64, want: i64| d < 0 || d == want;
    // A seg export read as detect would fail on its label count; say what it is instead.
    if family == Family::Yolo {
        if let Some(p) = outputs
            .get(1)
            .filter(|p| p.shape.len() == 4 && dim_ok(p.shape[1], MASK_COEFFICIENTS as i64))
        {
            return Err(Error::ModelShape {
                path: path.to_path_buf(),
                field: "outputs".into(),
                expected: "one output [1, 4 + classes, anchors] for family yolo".into(),
                found: format!(
                    "a second output {} like a YOLO segmentation model's mask prototypes: the outputs look like a seg model's (use family yolo-seg)",
                    p.describe()
                ),
            });
        }
    }
    match family {
        Family::Yolo | Family::YoloSeg => {
            let nm = if family == Family::YoloSeg {
                MASK_COEFFICIENTS as i64
            } else {
                0
            };
            let o = &outputs[0];
            let expected = if nm == 0 {
                "[1, 4 + classes, anchors] f32".to_string()
            } else {
                "[1, 4 + classes + 32, anchors] f32".to_string()
            };
            if o.shape.len() != 3
                || !dim_ok(o.shape[0], 1)
                || (o.shape[1] >= 0 && o.shape[1] <= 4 + nm)
            {
                return Err(shape_err(path, "output", expected, o));
            }
            if family == Family::YoloSeg {
                let p = &outputs[1];
                let s = &p.shape;
                let ok = s.len() == 4
                    && dim_ok(s[0], 1)
                    && dim_ok(s[1], nm)
                    && dim_ok(s[2], i64::from(h / 4))
                    && dim_ok(s[3], i64::from(w / 4));
                if !ok {
                    return Err(shape_err(
                        path,
                        "output",
                        format!(
                            "[1, 32, {}, {}] f32 (mask prototypes at stride 4)",
                            h / 4,
                            w / 4
                        ),
                        p,
                    ));
                }
            }
            Ok((o.shape[1] > 0).then(|| (o.shape[1] - 4 - nm) as usize))
        }
        Family::Centerface => {
            for (o, c) in outputs.iter().zip([1i64, 2, 2, 10]) {
                let s = &o.shape;
                let ok = s.len() == 4
                    && dim_ok(s[0], 1)
                    && dim_ok(s[1], c)
                    && dim_ok(s[2], i64::from(h / 4))
                    && dim_ok(s[3], i64::from(w / 4));
                if !ok {
                    return Err(shape_err(
                        path,
                        "output",
                        format!("[1, {c}, {}, {}] f32", h / 4, w / 4),
                        o,
                    ));
                }
            }
            Ok(Some(1))
        }
    }
}

fn labels(config: &DetectorConfig, model: &Model, nc: Option<usize>) -> Result<Vec<String>> {
    let labels = if !config.labels.is_empty() {
        config.labels.clone()
    } else if let Some(names) = model.metadata("names").and_then(|s| parse_names(&s)) {
        names
    } else if config.family == Family::Centerface {
        vec!["face".to_string()]
    } else {
        (0..nc.unwrap_or(0)).map(|i| format!("class_{i}")).collect()
    };
    if let Some(nc) = nc {
        if labels.len() != nc {
            return Err(Error::ModelShape {
                path: model.path.clone(),
                field: "labels".into(),
                expected: format!("{nc} labels (one per class of output 0)"),
                found: format!("{} labels", labels.len()),
            });
        }
    }
    Ok(labels)
}

/// Parse Ultralytics' `names` metadata, a Python dict literal such as
/// `{0: 'person', 1: "bicycle"}`, into labels by index. `None` when it does not parse or the
/// indices are not `0..n`.
pub fn parse_names(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == ':' {
                break;
            }
            key.push(c);
            chars.next();
        }
        chars.next()?; // ':'
        let key: usize = key.trim().parse().ok()?;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\\' => value.push(chars.next()?),
                c if c == quote => break,
                c => value.push(c),
            }
        }
        out.push((key, value));
    }
    out.sort_by_key(|(k, _)| *k);
    out.iter()
        .enumerate()
        .all(|(i, (k, _))| i == *k)
        .then(|| out.into_iter().map(|(_, v)| v).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_names_parse() {
        assert_eq!(
            parse_names("{0: 'person', 1: \"cup, mug\", 2: 'it\\'s'}").unwrap(),
            vec!["person", "cup, mug", "it's"]
        );
        assert!(parse_names("{1: 'a'}").is_none());
        assert!(parse_names("['a']").is_none());
        assert_eq!(parse_names("{}").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn family_names_round_trip() {
        for f in [Family::Yolo, Family::YoloSeg, Family::Centerface] {
            assert_eq!(f.as_str().parse::<Family>().unwrap(), f);
        }
        assert!("ssd".parse::<Family>().is_err());
    }
}
