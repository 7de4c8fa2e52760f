//! The perception actor: camera frames from the bus in, detections (and, with an observer,
//! robot observations) out.
//!
//! Per configured camera it subscribes to
//! - `clea/<ns>/robot/<robot>/camera/<cam>/image` ([`CameraImage`], `rgb8`/`bgr8`/`mono8`) and
//!   `.../camera/<cam>/image_compressed` ([`CompressedImage`], JPEG/PNG bytes, decoded by content;
//!   a camera sends one or the other),
//! - `.../camera/<cam>/depth` (aligned depth, `16UC1` mm or `32FC1` m) when `depth: true`,
//! - `.../camera/<cam>/camera_info` ([`CameraInfo`]; the config's `intrinsics` stand in until
//!   one arrives),
//!
//! pairs each image with the depth image of the same stamp (within `sync_tolerance_s`), runs the
//! [`Pipeline`] on a blocking thread and publishes [`Detections`] on
//! `clea/<ns>/robot/<robot>/perception/detections`. With an `observer:` section it also publishes
//! the [`RobotObservation`](clea_bus::msg::RobotObservation) of the [`DetectorObserver`] on `clea/<ns>/robot/<robot>/observation`,
//! which is what the agent's observer actor consumes.
//!
//! Real time over completeness: when frames arrive faster than the model runs, the newest frame
//! is processed and older ones are dropped (counted in [`Stats`]). A frame that fails (unknown
//! encoding, sizes that disagree) is logged and counted; the actor keeps running.

use crate::detector::{DetectorConfig, OnnxDetector};
use crate::error::{Error, Result};
use crate::geometry::{DepthRange, FrameTransform, Intrinsics, TransformConfig};
use crate::image::{DepthImage, Image};
use crate::observer::{DetectorObserver, ObserverConfig};
use crate::pipeline::{check_same_size, Geometry, Pipeline};
use crate::watch::{Change, SilenceWatch};
use clea_bus::msg::{
    ActionRecord, CameraImage, CameraInfo, CompressedImage, Detections, EpisodeEvent, Header,
};
use clea_bus::{Bus, Subscription};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One camera the actor serves (`cameras:` entries of a perception config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Robot the camera is on.
    pub robot: String,
    /// Camera name (key chunk), e.g. `head`.
    pub camera: String,
    /// Wait for an aligned depth image per colour image and locate detections in 3D.
    #[serde(default)]
    pub depth: bool,
    /// Intrinsics to use until a `camera_info` arrives.
    #[serde(default)]
    pub intrinsics: Option<Intrinsics>,
    /// Camera optical frame → target frame (robot base or world).
    #[serde(default)]
    pub transform: TransformConfig,
    /// Valid depth range, m.
    #[serde(default)]
    pub depth_range: DepthRange,
    /// Largest stamp difference between an image and its depth image, s (default 0.02).
    #[serde(default = "default_tolerance")]
    pub sync_tolerance_s: f64,
    /// Detector-based observer for this camera's robot.
    #[serde(default)]
    pub observer: Option<ObserverConfig>,
    /// Warn when no colour frame arrived for this long, s (default 10; 0: never). Frames that
    /// never arrive are most often a topology problem (see [`crate::watch`]).
    #[serde(default = "default_no_frame_warn")]
    pub no_frame_warn_s: f64,
}

fn default_tolerance() -> f64 {
    0.02
}

fn default_no_frame_warn() -> f64 {
    10.0
}

impl CameraConfig {
    /// A camera without depth, observer or transform.
    pub fn new(robot: impl Into<String>, camera: impl Into<String>) -> Self {
        Self {
            robot: robot.into(),
            camera: camera.into(),
            depth: false,
            intrinsics: None,
            transform: TransformConfig::default(),
            depth_range: DepthRange::default(),
            sync_tolerance_s: default_tolerance(),
            observer: None,
            no_frame_warn_s: default_no_frame_warn(),
        }
    }
}

/// The whole perception config (a YAML file): the detector and the cameras it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerceptionConfig {
    /// The detector.
    pub detector: DetectorConfig,
    /// The cameras.
    pub cameras: Vec<CameraConfig>,
}

impl PerceptionConfig {
    /// Read and check a YAML config file; relative model paths are resolved against its folder.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Config`] (naming the file, field and
    /// reason) when it does not parse or check.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = path.display().to_string();
        let mut c: Self = serde_yaml::from_str(&text).map_err(|e| Error::Config {
            file: file.clone(),
            field: e
                .location()
                .map(|l| format!("line {}", l.line()))
                .unwrap_or_else(|| "<document>".into()),
            reason: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            c.resolve_paths(dir);
        }
        c.check().map_err(|e| match e {
            Error::Config { field, reason, .. } => Error::Config {
                file,
                field,
                reason,
            },
            other => other,
        })?;
        Ok(c)
    }

    /// Make the relative file paths (the model, the runtime library) relative to `dir`, the
    /// folder of the file the config came from.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let d = &mut self.detector;
        if d.model.is_relative() {
            d.model = dir.join(&d.model);
        }
        if let Some(lib) = d.runtime.dylib_path.as_mut().filter(|l| l.is_relative()) {
            *lib = dir.join(&*lib);
        }
    }

    /// Check the cameras (names, transforms, intrinsics, observers).
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn check(&self) -> Result<()> {
        check_cameras(&self.cameras)
    }
}

fn check_cameras(cameras: &[CameraConfig]) -> Result<()> {
    if cameras.is_empty() {
        return Err(Error::config("cameras", "at least one camera is needed"));
    }
    for (i, c) in cameras.iter().enumerate() {
        let at = |f: &str| format!("cameras[{i}].{f}");
        for (f, name) in [("robot", &c.robot), ("camera", &c.camera)] {
            clea_bus::keys::check_chunk(name).map_err(|e| Error::config(at(f), e.to_string()))?;
        }
        FrameTransform::from_config(&c.transform)
            .map_err(|e| Error::config(at("transform"), e.to_string()))?;
        if let Some(k) = &c.intrinsics {
            k.check()
                .map_err(|e| Error::config(at("intrinsics"), e.to_string()))?;
        }
        if !(c.sync_tolerance_s.is_finite() && c.sync_tolerance_s >= 0.0) {
            return Err(Error::config(at("sync_tolerance_s"), "must be >= 0"));
        }
        if !(c.no_frame_warn_s.is_finite() && c.no_frame_warn_s >= 0.0) {
            return Err(Error::config(
                at("no_frame_warn_s"),
                "must be >= 0 (0: never warn)",
            ));
        }
        if let Some(o) = &c.observer {
            o.check()
                .map_err(|e| Error::config(at("observer"), e.to_string()))?;
        }
    }
    Ok(())
}

/// Counters of a running actor.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames processed and published.
    pub frames: AtomicU64,
    /// Frames dropped (a newer one arrived first, or no depth matched).
    pub dropped: AtomicU64,
    /// Frames that failed (logged).
    pub errors: AtomicU64,
    /// Cameras that are silent now: no colour frame for longer than their `no_frame_warn_s`.
    pub silent_cameras: AtomicU64,
}

/// A running perception actor; dropping it stops its tasks.
#[derive(Debug)]
pub struct PerceptionActor {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl Drop for PerceptionActor {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PerceptionActor {
    /// Load the detector of `config` and serve its cameras.
    ///
    /// # Errors
    /// Config, model and runtime errors (see [`OnnxDetector::new`]), [`Error::Bus`] when a
    /// subscriber cannot be declared.
    pub async fn spawn(bus: &Bus, config: &PerceptionConfig) -> Result<Self> {
        config.check()?;
        let det_config = config.detector.clone();
        let detector = tokio::task::spawn_blocking(move || OnnxDetector::new(&det_config))
            .await
            .map_err(|e| Error::config("detector", format!("loader task failed: {e}")))??;
        Self::spawn_with(bus, &config.cameras, Pipeline::new(Box::new(detector))).await
    }

    /// Serve `cameras` with any pipeline (the test seam: a scripted detector works too).
    ///
    /// # Errors
    /// [`Error::Config`] for a camera that does not check, [`Error::Bus`] when a subscriber
    /// cannot be declared.
    pub async fn spawn_with(
        bus: &Bus,
        cameras: &[CameraConfig],
        pipeline: Pipeline,
    ) -> Result<Self> {
        check_cameras(cameras)?;
        let pipeline = Arc::new(Mutex::new(pipeline));
        let stats = Arc::new(Stats::default());
        let mut tasks = Vec::new();
        for cam in cameras {
            let k = &bus.keys;
            let subs = Subs {
                images: bus
                    .subscribe(&k.camera_image(&cam.robot, &cam.camera))
                    .await?,
                compressed: bus
                    .subscribe(&k.camera_compressed(&cam.robot, &cam.camera))
                    .await?,
                depths: if cam.depth {
                    Some(
                        bus.subscribe(&k.camera_depth(&cam.robot, &cam.camera))
                            .await?,
                    )
                } else {
                    None
                },
                infos: bus
                    .subscribe(&k.camera_info(&cam.robot, &cam.camera))
                    .await?,
                actions: if cam.observer.is_some() {
                    Some(bus.subscribe(&k.action()).await?)
                } else {
                    None
                },
                events: if cam.observer.is_some() {
                    Some(bus.subscribe(&k.episode_event()).await?)
                } else {
                    None
                },
            };
            let observer = match &cam.observer {
                Some(o) => Some(DetectorObserver::new(&cam.robot, o.clone())?),
                None => None,
            };
            let task = CameraTask {
                bus: bus.clone(),
                transform: FrameTransform::from_config(&cam.transform)?,
                cam: cam.clone(),
                pipeline: pipeline.clone(),
                observer,
                stats: stats.clone(),
                info: None,
                images: VecDeque::new(),
                depths: VecDeque::new(),
                warned_no_intrinsics: false,
                silence: SilenceWatch::new(
                    (cam.no_frame_warn_s > 0.0)
                        .then(|| Duration::from_secs_f64(cam.no_frame_warn_s)),
                    Instant::now(),
                ),
            };
            tasks.push(tokio::spawn(task.run(subs)));
        }
        Ok(Self { tasks, stats })
    }

    /// The actor's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

struct Subs {
    images: Subscription<CameraImage>,
    compressed: Subscription<CompressedImage>,
    depths: Option<Subscription<CameraImage>>,
    infos: Subscription<CameraInfo>,
    actions: Option<Subscription<ActionRecord>>,
    events: Option<Subscription<EpisodeEvent>>,
}

async fn recv_opt<T: DeserializeOwned>(s: &Option<Subscription<T>>) -> Option<(String, T)> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Images and depths kept while waiting for a partner.
const MAX_PENDING_IMAGES: usize = 4;
const MAX_PENDING_DEPTHS: usize = 8;

struct CameraTask {
    bus: Bus,
    cam: CameraConfig,
    transform: FrameTransform,
    pipeline: Arc<Mutex<Pipeline>>,
    observer: Option<DetectorObserver>,
    stats: Arc<Stats>,
    info: Option<CameraInfo>,
    images: VecDeque<Frame>,
    depths: VecDeque<CameraImage>,
    warned_no_intrinsics: bool,
    silence: SilenceWatch,
}

/// A colour frame as it arrived: raw pixels or a compressed file (decoded only if processed).
enum Frame {
    Raw(CameraImage),
    Compressed(CompressedImage),
}

impl Frame {
    fn header(&self) -> &Header {
        match self {
            Frame::Raw(i) => &i.header,
            Frame::Compressed(c) => &c.header,
        }
    }
}

trait Stamped {
    fn stamp(&self) -> f64;
}

impl Stamped for Frame {
    fn stamp(&self) -> f64 {
        self.header().stamp.as_secs_f64()
    }
}

impl Stamped for CameraImage {
    fn stamp(&self) -> f64 {
        self.header.stamp.as_secs_f64()
    }
}

fn stamp(i: &impl Stamped) -> f64 {
    i.stamp()
}

/// A deadline that never comes, for a `select!` branch that is off.
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

impl CameraTask {
    async fn run(mut self, subs: Subs) {
        loop {
            let deadline = self
                .silence
                .deadline()
                .map_or_else(far_future, tokio::time::Instant::from_std);
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    let change = self.silence.check(Instant::now());
                    self.watch(change);
                    continue;
                }
                m = subs.images.recv() => match m {
                    Some((_, img)) => self.push_image(Frame::Raw(img)),
                    None => break,
                },
                Some((_, c)) = subs.compressed.recv() => self.push_image(Frame::Compressed(c)),
                Some((_, d)) = recv_opt(&subs.depths) => self.push_depth(d),
                Some((_, info)) = subs.infos.recv() => self.info = Some(info),
                Some((_, a)) = recv_opt(&subs.actions) => {
                    if let Some(o) = &mut self.observer { o.on_action(&a) }
                }
                Some((_, e)) = recv_opt(&subs.events) => {
                    if let (Some(o), EpisodeEvent::Reset { .. }) = (&mut self.observer, e) {
                        o.reset()
                    }
                }
            }
            // Take in everything already queued, so the newest frame is the one processed.
            while let Some((_, img)) = subs.images.try_recv() {
                self.push_image(Frame::Raw(img));
            }
            while let Some((_, c)) = subs.compressed.try_recv() {
                self.push_image(Frame::Compressed(c));
            }
            if let Some(s) = &subs.depths {
                while let Some((_, d)) = s.try_recv() {
                    self.push_depth(d);
                }
            }
            while let Some((_, info)) = subs.infos.try_recv() {
                self.info = Some(info);
            }
            if let Some((image, depth)) = self.take_ready() {
                self.process(image, depth).await;
            }
        }
    }

    /// Report a camera going silent or coming back (a warning, and the `silent_cameras` gauge).
    fn watch(&self, change: Option<Change>) {
        let (robot, camera) = (&self.cam.robot, &self.cam.camera);
        let keys = &self.bus.keys;
        match change {
            Some(Change::WentSilent(age)) => {
                self.stats.silent_cameras.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "camera {robot}/{camera}: no frame on {} or {} for {:.0} s: is its publisher \
                     reachable? (zenoh peers that only connect to the same peer do not hear each \
                     other: connect both to one `clea router`)",
                    keys.camera_image(robot, camera),
                    keys.camera_compressed(robot, camera),
                    age.as_secs_f64()
                );
            }
            Some(Change::Resumed(gap)) => {
                self.stats.silent_cameras.fetch_sub(1, Ordering::Relaxed);
                tracing::info!(
                    "camera {robot}/{camera}: frames again after {:.1} s",
                    gap.as_secs_f64()
                );
            }
            None => {}
        }
    }

    fn push_image(&mut self, img: Frame) {
        let change = self.silence.on_sample(Instant::now());
        self.watch(change);
        self.images.push_back(img);
        while self.images.len() > MAX_PENDING_IMAGES {
            self.images.pop_front();
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn push_depth(&mut self, d: CameraImage) {
        self.depths.push_back(d);
        while self.depths.len() > MAX_PENDING_DEPTHS {
            self.depths.pop_front();
        }
    }

    /// The newest image that is ready (with its depth when depth is configured); older images
    /// are dropped.
    fn take_ready(&mut self) -> Option<(Frame, Option<CameraImage>)> {
        let dropped = |n: usize, stats: &Stats| {
            stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
        };
        if !self.cam.depth {
            let img = self.images.pop_back()?;
            dropped(self.images.len(), &self.stats);
            self.images.clear();
            return Some((img, None));
        }
        let tol = self.cam.sync_tolerance_s;
        for i in (0..self.images.len()).rev() {
            let t = stamp(&self.images[i]);
            if let Some(j) = self.depths.iter().position(|d| (stamp(d) - t).abs() <= tol) {
                let img = self.images.remove(i)?;
                dropped(i, &self.stats);
                self.images.drain(..i);
                let depth = self.depths.remove(j)?;
                self.depths.drain(..j);
                return Some((img, Some(depth)));
            }
        }
        // Images older than the newest depth can no longer find theirs.
        if let Some(newest) = self.depths.back().map(stamp) {
            let before = self.images.len();
            self.images.retain(|im| stamp(im) >= newest - tol);
            dropped(before - self.images.len(), &self.stats);
        }
        None
    }

    async fn process(&mut self, image: Frame, depth: Option<CameraImage>) {
        let intrinsics = match &self.info {
            Some(info) => Intrinsics::from_k(&info.k).map(|k| Some((k, Some(info.clone())))),
            None => Ok(self.cam.intrinsics.map(|k| (k, None))),
        };
        let intrinsics = match intrinsics {
            Ok(k) => k,
            Err(e) => {
                self.fail(&e);
                return;
            }
        };
        if depth.is_some() && intrinsics.is_none() && !self.warned_no_intrinsics {
            self.warned_no_intrinsics = true;
            tracing::warn!(
                robot = %self.cam.robot,
                camera = %self.cam.camera,
                "no camera_info received and no intrinsics configured: detections get no 3D position"
            );
        }
        let keys = &self.bus.keys;
        let image_key = match &image {
            Frame::Raw(_) => keys.camera_image(&self.cam.robot, &self.cam.camera),
            Frame::Compressed(_) => keys.camera_compressed(&self.cam.robot, &self.cam.camera),
        };
        let depth_key = keys.camera_depth(&self.cam.robot, &self.cam.camera);
        let pipeline = self.pipeline.clone();
        let transform = self.transform.clone();
        let range = self.cam.depth_range;
        let header = image.header().clone();
        let job = move || -> Result<(u32, u32, Vec<clea_bus::msg::Detection>)> {
            let img = match &image {
                Frame::Raw(i) => Image::from_ros(i, image_key)?,
                Frame::Compressed(c) => Image::decode(&c.data, image_key)?,
            };
            let depth = depth
                .map(|d| DepthImage::from_ros(&d, depth_key))
                .transpose()?;
            if let Some(d) = &depth {
                check_same_size(&img, d)?;
            }
            if let Some((_, Some(info))) = &intrinsics {
                if (info.width, info.height) != (0, 0)
                    && (info.width, info.height) != (img.width(), img.height())
                {
                    return Err(Error::SizeMismatch {
                        what: "camera_info".into(),
                        expected_w: img.width(),
                        expected_h: img.height(),
                        found_w: info.width,
                        found_h: info.height,
                    });
                }
            }
            let geometry = match (&depth, &intrinsics) {
                (Some(d), Some((k, _))) => Some((d, *k)),
                _ => None,
            };
            let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
            let dets = match &geometry {
                Some((d, k)) => p.process(
                    &img,
                    Some(Geometry {
                        depth: d,
                        intrinsics: k,
                        transform: &transform,
                        range,
                    }),
                )?,
                None => p.process(&img, None)?,
            };
            Ok((img.width(), img.height(), dets))
        };
        let result = match tokio::task::spawn_blocking(job).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "perception job panicked");
                self.stats.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let (w, h, detections) = match result {
            Ok(r) => r,
            Err(e) => {
                self.fail(&e);
                return;
            }
        };
        // Counted before anything is published, so a reader of the outputs sees the count.
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        let msg = Detections {
            header: Header {
                stamp: header.stamp,
                frame_id: header.frame_id,
            },
            robot: self.cam.robot.clone(),
            camera: self.cam.camera.clone(),
            image_width: w,
            image_height: h,
            target_frame_id: self.transform.frame_id.clone(),
            detections,
        };
        if let Err(e) = self
            .bus
            .publish(&self.bus.keys.detections(&self.cam.robot), &msg)
            .await
        {
            tracing::warn!(error = %e, "cannot publish detections");
        }
        if let Some(o) = &self.observer {
            let obs = o.observe(&msg);
            if let Err(e) = self
                .bus
                .publish(&self.bus.keys.robot_observation(&self.cam.robot), &obs)
                .await
            {
                tracing::warn!(error = %e, "cannot publish the observation");
            }
        }
    }

    fn fail(&self, e: &Error) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            robot = %self.cam.robot,
            camera = %self.cam.camera,
            error = %e,
            "perception frame failed"
        );
    }
}
