//! `clea perceive`: run an ONNX detector on one image, print what it found (in 3D with an aligned
//! depth image), optionally write an annotated copy.

use crate::error::CliError;
use clap::{Args, ValueEnum};
use clea_perception::detector::{DetectorConfig, Family, OnnxDetector};
use clea_perception::geometry::DepthRange;
use clea_perception::pipeline::{check_same_size, to_bus, Geometry};
use clea_perception::{
    DepthImage, ErrorKind, FrameTransform, Image, ImageLimits, Intrinsics, Provider,
};
use std::path::PathBuf;

/// Which decoder reads the model's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// Ultralytics YOLO detect export: output [1, 4 + classes, anchors].
    Yolo,
    /// Ultralytics YOLO segmentation export: adds 32 mask coefficients and [1, 32, H/4, W/4]
    /// prototypes.
    YoloSeg,
    /// CenterFace face detector (heatmap, scale, offset, landmarks at stride 4).
    Centerface,
}

/// Execution provider to ask ONNX Runtime for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// The CPU.
    Cpu,
    /// NVIDIA CUDA (onnxruntime-gpu); falls back to the CPU.
    Cuda,
    /// NVIDIA TensorRT (onnxruntime-gpu); falls back to CUDA, then the CPU.
    Tensorrt,
}

/// Run an ONNX detector on one image and print its detections.
///
/// With --depth and --intrinsics each detection also gets its 3D position in the camera's
/// optical frame (x right, y down, z forward, metres): the median depth under its mask (or the
/// central half of its box) at the mask centroid (or box centre). The ONNX Runtime library
/// comes from --ort-lib or ORT_DYLIB_PATH (`make` sets it to the one in .venv). Exit code 2 for
/// bad input (image, depth, model, arguments), 1 for a runtime failure.
#[derive(Debug, Args)]
pub struct PerceiveArgs {
    /// Image file (JPEG or PNG).
    pub image: PathBuf,
    /// ONNX model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Model family: which decoder reads its outputs.
    #[arg(long, value_enum)]
    pub family: FamilyArg,
    /// Depth image aligned to the image: 16-bit PNG in millimetres (or 32-bit float in metres).
    #[arg(long, requires = "intrinsics")]
    pub depth: Option<PathBuf>,
    /// Pinhole intrinsics of the image in pixels: fx,fy,cx,cy.
    #[arg(long, requires = "depth", allow_hyphen_values = true)]
    pub intrinsics: Option<String>,
    /// Write the image with the detections drawn on it (PNG; JPEG for .jpg/.jpeg).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Class labels by index, comma-separated (default: the model's `names` metadata).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Score threshold (default: 0.25 for YOLO, 0.5 for CenterFace).
    #[arg(long)]
    pub conf: Option<f32>,
    /// NMS IoU threshold (default: 0.7 for YOLO, 0.3 for CenterFace).
    #[arg(long)]
    pub iou: Option<f32>,
    /// Execution provider (falls back to the CPU when unavailable).
    #[arg(long, value_enum, default_value_t = ProviderArg::Cpu)]
    pub provider: ProviderArg,
    /// Threads inside one operator (0: ONNX Runtime's default, one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// The ONNX Runtime shared library (default: $ORT_DYLIB_PATH).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Model input size WxH in pixels (e.g. 640x480), for a model exported with dynamic axes
    /// (`[?, 3, ?, ?]`); must match a static one. Default for a dynamic input: 640x640.
    #[arg(long, value_parser = parse_size)]
    pub input_size: Option<[u32; 2]>,
    /// Most pixels (width × height) the image or depth file may declare; checked from the
    /// file's header before anything is decoded.
    #[arg(long, default_value_t = ImageLimits::default().max_pixels,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
}

/// `WxH` (e.g. `640x480`) as `[w, h]`, each a multiple of 32 in `[32, 8192]` (the stride of
/// YOLO and CenterFace heads).
fn parse_size(s: &str) -> Result<[u32; 2], String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not WxH (e.g. 640x480)"))?;
    let side = |v: &str| -> Result<u32, String> {
        let n: u32 = v
            .trim()
            .parse()
            .map_err(|_| format!("{v:?} is not a whole number of pixels"))?;
        if !n.is_multiple_of(32) || !(32..=8192).contains(&n) {
            return Err(format!("{n} is not a multiple of 32 in [32, 8192]"));
        }
        Ok(n)
    };
    Ok([side(w)?, side(h)?])
}

/// Errors of the library: setup and inference failures are runtime errors (exit 1), the rest
/// is bad input (exit 2).
fn cli_error(e: clea_perception::Error) -> CliError {
    match e.kind() {
        ErrorKind::Runtime | ErrorKind::Inference | ErrorKind::Bus => CliError::Runtime(e.into()),
        _ => CliError::Input(e.to_string()),
    }
}

/// Run `clea perceive`.
///
/// # Errors
/// [`CliError::Input`] for bad input, [`CliError::Runtime`] otherwise.
pub async fn run(args: PerceiveArgs) -> Result<(), CliError> {
    tokio::task::spawn_blocking(move || perceive(&args))
        .await
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("perception task failed: {e}")))?
}

fn perceive(args: &PerceiveArgs) -> Result<(), CliError> {
    let intrinsics = args
        .intrinsics
        .as_deref()
        .map(Intrinsics::parse)
        .transpose()
        .map_err(|e| match e {
            clea_perception::Error::Config { reason, .. } => {
                CliError::Input(format!("--intrinsics: {reason}"))
            }
            other => cli_error(other),
        })?;
    let limits = ImageLimits {
        max_pixels: args.max_pixels,
    };
    let image = Image::from_file_with(&args.image, &limits).map_err(cli_error)?;
    let depth = match &args.depth {
        Some(p) => {
            // A depth file of another size is refused from its header, before it is decoded.
            let size = Some((image.width(), image.height()));
            let d = DepthImage::from_file_with(p, &limits, size).map_err(cli_error)?;
            check_same_size(&image, &d).map_err(|_| {
                CliError::Input(format!(
                    "{}: depth image is {}x{}, the image {} is {}x{}",
                    p.display(),
                    d.width,
                    d.height,
                    args.image.display(),
                    image.width(),
                    image.height()
                ))
            })?;
            Some(d)
        }
        None => None,
    };
    let family = match args.family {
        FamilyArg::Yolo => Family::Yolo,
        FamilyArg::YoloSeg => Family::YoloSeg,
        FamilyArg::Centerface => Family::Centerface,
    };
    let mut config = DetectorConfig::new(&args.model, family);
    config.input_size = args.input_size;
    config.labels = args.labels.clone();
    config.conf_threshold = args.conf;
    config.iou_threshold = args.iou;
    config.runtime.dylib_path = args.ort_lib.clone();
    config.runtime.intra_threads = args.threads;
    config.runtime.provider = match args.provider {
        ProviderArg::Cpu => Provider::Cpu,
        ProviderArg::Cuda => Provider::Cuda,
        ProviderArg::Tensorrt => Provider::Tensorrt,
    };
    let mut detector = OnnxDetector::new(&config).map_err(cli_error)?;
    let started = std::time::Instant::now();
    let found = clea_perception::Detector::detect(&mut detector, &image).map_err(cli_error)?;
    let elapsed = started.elapsed();
    let transform = FrameTransform::identity("camera");
    let geometry = match (&depth, &intrinsics) {
        (Some(d), Some(k)) => Some(Geometry {
            depth: d,
            intrinsics: k,
            transform: &transform,
            range: DepthRange::default(),
        }),
        _ => None,
    };
    let detections = to_bus(&found, geometry, &mut Vec::new());
    if let Some(out) = &args.out {
        let annotated = clea_perception::draw::annotate(&image, &detections).map_err(cli_error)?;
        clea_perception::draw::write_image(out, &annotated)
            .map_err(|e| CliError::Runtime(e.into()))?;
    }
    let model = detector.model();
    let (iw, ih) = detector.input_size();
    if args.json {
        let report = serde_json::json!({
            "image": args.image,
            "width": image.width(),
            "height": image.height(),
            "model": model.path,
            "family": family.as_str(),
            "provider": model.provider,
            "input": [iw, ih],
            "latency_ms": elapsed.as_secs_f64() * 1e3,
            "detections": detections,
        });
        println!("{report}");
    } else {
        println!(
            "{}: {}x{}, {} ({}, {iw}x{ih} input, {}), {:.1} ms",
            args.image.display(),
            image.width(),
            image.height(),
            model.path.display(),
            family.as_str(),
            model.provider,
            elapsed.as_secs_f64() * 1e3
        );
        println!(
            "{:<14} {:>5}  {:>28}  {:>22}  {:>8}",
            "label", "score", "box x1,y1,x2,y2 (px)", "camera x,y,z (m)", "mask px"
        );
        for d in &detections {
            let b = &d.bbox;
            let bbox = format!(
                "{:.0},{:.0},{:.0},{:.0}",
                b.x_min, b.y_min, b.x_max, b.y_max
            );
            let pos = d
                .position_camera
                .map(|p| format!("{:.3},{:.3},{:.3}", p.x, p.y, p.z))
                .unwrap_or_else(|| "-".into());
            let mask = d
                .mask
                .as_ref()
                .map(|m| {
                    m.counts
                        .iter()
                        .skip(1)
                        .step_by(2)
                        .map(|&c| u64::from(c))
                        .sum::<u64>()
                        .to_string()
                })
                .unwrap_or_else(|| "-".into());
            println!(
                "{:<14} {:>5.3}  {bbox:>28}  {pos:>22}  {mask:>8}",
                d.label, d.score
            );
        }
        println!("{} detection(s)", detections.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: PerceiveArgs,
    }

    fn run_with(argv: &[&str]) -> Result<(), CliError> {
        let cli = Cli::try_parse_from(std::iter::once("perceive").chain(argv.iter().copied()))
            .expect("arguments parse");
        perceive(&cli.args)
    }

    #[test]
    fn bad_input_is_exit_code_2_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"not an image").unwrap();
        let junk = junk.to_str().unwrap();
        let cases: [(&[&str], &str); 4] = [
            (
                &["missing.png", "--model", "m.onnx", "--family", "yolo"],
                "missing.png",
            ),
            (&[junk, "--model", "m.onnx", "--family", "yolo"], "junk.png"),
            (
                &[
                    "x.png",
                    "--model",
                    "m.onnx",
                    "--family",
                    "yolo",
                    "--depth",
                    "d.png",
                    "--intrinsics",
                    "1,2,3",
                ],
                "--intrinsics",
            ),
            (
                &[
                    junk,
                    "--model",
                    "m.onnx",
                    "--family",
                    "centerface",
                    "--depth",
                    junk,
                    "--intrinsics",
                    "-1,1,1,1",
                ],
                "--intrinsics",
            ),
        ];
        for (argv, needle) in cases {
            let e = run_with(argv).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.exit_code(), 2, "{argv:?}: {msg}");
            assert!(
                msg.contains(needle) && !msg.contains('\n'),
                "{argv:?}: {msg}"
            );
        }
    }

    #[test]
    fn input_sizes_are_wxh_multiples_of_32() {
        assert_eq!(parse_size("640x480"), Ok([640, 480]));
        assert_eq!(parse_size("320X320"), Ok([320, 320]));
        for bad in ["640", "100x100", "0x32", "640xabc", "16384x32"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        let e = Cli::try_parse_from([
            "perceive",
            "a.png",
            "--model",
            "m.onnx",
            "--family",
            "yolo",
            "--input-size",
            "100x64",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("not a multiple of 32"), "{e}");
    }

    #[test]
    fn depth_needs_intrinsics() {
        let e = Cli::try_parse_from([
            "perceive", "a.png", "--model", "m.onnx", "--family", "yolo", "--depth", "d.png",
        ])
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
