//! The adapter: bus side (skill servers, camera and odometry publishers, e-stop).

use super::config::{ConfigError, RobotConfig};
use super::node::{self, Cmd, Event};
use super::template;
use clea_bus::action::{IncomingGoal, SkillServer};
use clea_bus::msg::{
    CameraImage, CameraInfo, CompressedImage, EStop, Header, Odometry, Point3, Pose, Quaternion,
    SkillOutcome, Time, Twist,
};
use clea_bus::{Bus, BusError};
use futures::{Stream, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Errors of the adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The configuration is invalid (or names a type the ROS 2 install lacks).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// ROS 2 (r2r/rcl) failed.
    #[error("ROS 2: {0}")]
    Ros(String),
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Check that every interface type `config` names (skills' actions and services, camera and
/// odometry messages) is in the ROS 2 install, by creating and dropping a node with those
/// clients and subscriptions; nothing is bridged.
///
/// # Errors
/// [`AdapterError::Config`] ([`ConfigError::UnknownMessageType`]) for a type the install lacks,
/// [`AdapterError::Ros`] when ROS 2 cannot create the node.
pub fn check_interfaces(config: &RobotConfig) -> Result<(), AdapterError> {
    config.validate(&[], &[])?;
    node::check_interfaces(config)
}

/// What the last engaged e-stop did.
#[derive(Debug, Clone, Copy)]
pub struct EStopStats {
    /// ROS 2 goals a cancel request was sent for.
    pub goals_canceled: usize,
    /// From the e-stop's arrival on the bus to the last cancel request sent.
    pub cancel_latency: Duration,
    /// From the e-stop's arrival to the `std_msgs/Bool` publication.
    pub published_latency: Duration,
}

type ImageStream = Box<dyn Stream<Item = r2r::sensor_msgs::msg::Image> + Send + Unpin>;
type InfoStream = Box<dyn Stream<Item = r2r::sensor_msgs::msg::CameraInfo> + Send + Unpin>;
type CompressedStream =
    Box<dyn Stream<Item = r2r::sensor_msgs::msg::CompressedImage> + Send + Unpin>;
type OdometryStream = Box<dyn Stream<Item = r2r::nav_msgs::msg::Odometry> + Send + Unpin>;

/// Camera subscriptions handed from the ROS 2 thread to the bus side.
#[derive(Default)]
pub(crate) struct CameraStreams {
    /// (camera, is depth, stream).
    pub(crate) images: Vec<(String, bool, ImageStream)>,
    pub(crate) compressed: Vec<(String, CompressedStream)>,
    pub(crate) infos: Vec<(String, InfoStream)>,
    pub(crate) odometry: Option<OdometryStream>,
}

/// A running adapter; drop it (or call [`Ros2Adapter::shutdown`]) to stop it.
pub struct Ros2Adapter {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<Mutex<Option<EStopStats>>>,
    engaged: Arc<AtomicBool>,
    cmds: mpsc::UnboundedSender<Cmd>,
}

fn header(h: r2r::std_msgs::msg::Header) -> Header {
    Header {
        stamp: Time {
            sec: h.stamp.sec,
            nanosec: h.stamp.nanosec,
        },
        frame_id: h.frame_id,
    }
}

/// A ROS 2 image as a bus image (bytes, encoding and frame kept).
pub fn image_to_bus(m: r2r::sensor_msgs::msg::Image) -> CameraImage {
    CameraImage {
        header: header(m.header),
        height: m.height,
        width: m.width,
        encoding: m.encoding,
        is_bigendian: m.is_bigendian,
        step: m.step,
        data: m.data,
    }
}

/// A ROS 2 compressed image as a bus compressed image (bytes, format and frame kept).
pub fn compressed_to_bus(m: r2r::sensor_msgs::msg::CompressedImage) -> CompressedImage {
    CompressedImage {
        header: header(m.header),
        format: m.format,
        data: m.data,
    }
}

/// A ROS 2 odometry message as bus odometry (covariances kept unless all zero).
pub fn odometry_to_bus(m: r2r::nav_msgs::msg::Odometry) -> Odometry {
    let (p, t) = (m.pose.pose, m.twist.twist);
    let cov = |c: Vec<f64>| {
        if c.iter().all(|v| *v == 0.0) {
            Vec::new()
        } else {
            c
        }
    };
    Odometry {
        header: header(m.header),
        child_frame_id: m.child_frame_id,
        pose: Pose {
            position: Point3 {
                x: p.position.x,
                y: p.position.y,
                z: p.position.z,
            },
            orientation: Quaternion {
                x: p.orientation.x,
                y: p.orientation.y,
                z: p.orientation.z,
                w: p.orientation.w,
            },
        },
        pose_covariance: cov(m.pose.covariance),
        twist: Twist {
            linear: [t.linear.x, t.linear.y, t.linear.z],
            angular: [t.angular.x, t.angular.y, t.angular.z],
        },
        twist_covariance: cov(m.twist.covariance),
    }
}

/// A ROS 2 camera info as a bus camera info (`k` is zero when malformed).
pub fn info_to_bus(m: r2r::sensor_msgs::msg::CameraInfo) -> CameraInfo {
    CameraInfo {
        header: header(m.header),
        height: m.height,
        width: m.width,
        distortion_model: m.distortion_model,
        d: m.d,
        k: m.k.try_into().unwrap_or([0.0; 9]),
    }
}

impl Ros2Adapter {
    /// Start bridging `config`'s robot on `bus`.
    ///
    /// # Errors
    /// [`AdapterError::Config`] for an invalid configuration or an interface type unknown to the
    /// ROS 2 install; [`AdapterError::Ros`] when the node cannot be created; [`AdapterError::Bus`]
    /// when the skill server cannot be declared.
    pub async fn start(bus: &Bus, config: RobotConfig) -> Result<Self, AdapterError> {
        config.validate(&[], &[])?;
        let stats = Arc::new(Mutex::new(None));
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (setup_tx, setup_rx) = oneshot::channel();
        let (cfg, st) = (config.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name(format!("ros2-{}", config.name))
            .spawn(move || node::run(cfg, cmd_rx, setup_tx, st))
            .map_err(|e| AdapterError::Ros(format!("thread: {e}")))?;
        let streams = setup_rx
            .await
            .map_err(|_| AdapterError::Ros("the ROS 2 thread ended during setup".into()))??;
        let mut tasks = Vec::new();
        for (cam, depth, mut s) in streams.images {
            let key = if depth {
                bus.keys.camera_depth(&config.name, &cam)
            } else {
                bus.keys.camera_image(&config.name, &cam)
            };
            let topic = config
                .cameras
                .get(&cam)
                .and_then(|c| {
                    if depth {
                        c.depth_topic.clone()
                    } else {
                        Some(c.image_topic.clone())
                    }
                })
                .unwrap_or_default();
            let bus = bus.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(m) = s.next().await {
                    let image = image_to_bus(m);
                    // A short image would replace the newest good frame downstream: dropped here.
                    if let Err(why) = image.check_size() {
                        tracing::warn!(%topic, camera = %cam, %why, "malformed sensor_msgs/Image dropped");
                        continue;
                    }
                    if let Err(e) = bus.publish(&key, &image).await {
                        tracing::warn!(error = %e, %key, "cannot publish image");
                    }
                }
            }));
        }
        for (cam, mut s) in streams.compressed {
            let key = bus.keys.camera_compressed(&config.name, &cam);
            let bus = bus.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(m) = s.next().await {
                    if let Err(e) = bus.publish(&key, &compressed_to_bus(m)).await {
                        tracing::warn!(error = %e, %key, "cannot publish compressed image");
                    }
                }
            }));
        }
        if let Some(mut s) = streams.odometry {
            let key = bus.keys.odometry(&config.name);
            let bus = bus.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(m) = s.next().await {
                    let _ = bus.publish(&key, &odometry_to_bus(m)).await;
                }
            }));
        }
        for (cam, mut s) in streams.infos {
            let key = bus.keys.camera_info(&config.name, &cam);
            let bus = bus.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(m) = s.next().await {
                    let _ = bus.publish(&key, &info_to_bus(m)).await;
                }
            }));
        }
        let skills: Vec<&str> = config.skills.keys().map(String::as_str).collect();
        let server = SkillServer::declare(bus, &config.name, &skills).await?;
        let estop = bus.subscribe::<EStop>(&bus.keys.estop()).await?;
        let engaged = Arc::new(AtomicBool::new(false));
        tasks.push(tokio::spawn(serve(
            server,
            estop,
            cmd_tx.clone(),
            Arc::new(config),
            engaged.clone(),
        )));
        Ok(Self {
            tasks,
            thread: Some(thread),
            stats,
            engaged,
            cmds: cmd_tx,
        })
    }

    /// What the last engaged e-stop did (`None` before the first).
    pub fn estop_stats(&self) -> Option<EStopStats> {
        self.stats.lock().ok().and_then(|s| *s)
    }

    /// Whether an e-stop is engaged (new goals are rejected).
    pub fn estop_engaged(&self) -> bool {
        self.engaged.load(Ordering::SeqCst)
    }

    /// Stop the bridge: cancel the ROS 2 goals still active (a robot must not go on with a
    /// goal nobody supervises; no e-stop is published), stop serving, and wait for the ROS 2
    /// thread to end. Returns how many goals were canceled.
    pub async fn shutdown(mut self) -> usize {
        let (done, canceled) = oneshot::channel();
        let mut n = 0;
        if self.cmds.send(Cmd::CancelAll { done }).is_ok() {
            n = tokio::time::timeout(Duration::from_secs(2), canceled)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
        }
        if n > 0 {
            tracing::warn!(goals = n, "adapter stopping: active ROS 2 goals canceled");
        }
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        // The serve task held the other sender; closing this one ends the ROS 2 thread.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.cmds, closed));
        if let Some(th) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || th.join()).await;
        }
        n
    }
}

impl Drop for Ros2Adapter {
    fn drop(&mut self) {
        // Aborting the serve task drops its command sender and the field drops the other one,
        // which ends the ROS 2 thread.
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve(
    mut server: SkillServer,
    estop: clea_bus::Subscription<EStop>,
    cmds: mpsc::UnboundedSender<Cmd>,
    config: Arc<RobotConfig>,
    engaged: Arc<AtomicBool>,
) {
    // A robot that serves no skill (cameras only) still bridges and takes e-stops: the ROS 2
    // side lives as long as this loop.
    let mut goals_open = true;
    loop {
        tokio::select! {
            g = server.next_goal(), if goals_open => {
                let Some(g) = g else {
                    goals_open = false;
                    continue;
                };
                if engaged.load(Ordering::SeqCst) {
                    let _ = g.reject("e-stop engaged").await;
                    continue;
                }
                tokio::spawn(run_goal(g, cmds.clone(), config.clone()));
            }
            e = estop.recv() => {
                let Some((_, e)) = e else { break };
                let received = Instant::now();
                engaged.store(e.engaged, Ordering::SeqCst);
                let _ = cmds.send(Cmd::EStop { engaged: e.engaged, received });
                if e.engaged {
                    server.cancel_all();
                }
            }
        }
    }
}

async fn run_goal(
    incoming: IncomingGoal,
    cmds: mpsc::UnboundedSender<Cmd>,
    config: Arc<RobotConfig>,
) {
    let skill = incoming.skill.clone();
    let Some(mapping) = config.skills.get(&skill) else {
        let _ = incoming
            .reject(format!("skill {skill} has no ROS 2 mapping"))
            .await;
        return;
    };
    let goal = match template::fill(
        &mapping.goal,
        &config.name,
        &incoming.goal.call,
        &config.poses,
    ) {
        Ok(g) => g,
        Err(e) => {
            let _ = incoming.reject(e.to_string()).await;
            return;
        }
    };
    let (ev_tx, mut events) = mpsc::unbounded_channel();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let cmd = Cmd::Goal {
        skill: skill.clone(),
        goal,
        events: ev_tx,
        cancel: cancel_rx,
    };
    if cmds.send(cmd).is_err() {
        let _ = incoming.reject("the ROS 2 adapter stopped").await;
        return;
    }
    match events.recv().await {
        Some(Event::Accepted) => {}
        Some(Event::Rejected(why)) => {
            let _ = incoming.reject(why).await;
            return;
        }
        _ => {
            let _ = incoming.reject("the ROS 2 adapter stopped").await;
            return;
        }
    }
    let Ok(mut active) = incoming.accept().await else {
        let _ = cancel_tx.send(true);
        return;
    };
    let far = tokio::time::Instant::now() + Duration::from_secs(86400 * 365);
    let mut deadline = mapping.timeout_s.map_or(far, |s| {
        tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0))
    });
    let grace = Duration::from_secs_f64(mapping.cancel_grace_s);
    let mut timed_out = false;
    let mut cancel_sent = false;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(Event::Feedback(p, text)) => {
                    let _ = active.feedback(p, text).await;
                }
                Some(Event::Done(o)) => {
                    // The server's result is authoritative: a goal that succeeded after the
                    // cancel did the work.
                    if cancel_sent {
                        let asked = if timed_out { "a timeout's cancel" } else { "a cancel" };
                        tracing::warn!(%skill, outcome = %o, "the ROS 2 server ended the goal after {asked} was requested; reporting its result");
                    }
                    let _ = active.finish(o).await;
                    return;
                }
                Some(_) => {}
                None => {
                    let _ = active.finish(SkillOutcome::Failed { reason: "the ROS 2 adapter stopped".into() }).await;
                    return;
                }
            },
            _ = active.cancel_requested(), if !cancel_sent => {
                cancel_sent = true;
                let _ = cancel_tx.send(true);
                deadline = tokio::time::Instant::now() + grace;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if cancel_sent {
                    let o = if timed_out { SkillOutcome::TimedOut } else { SkillOutcome::Canceled };
                    let _ = active.finish(o).await;
                    return;
                }
                timed_out = true;
                cancel_sent = true;
                let _ = cancel_tx.send(true);
                deadline = tokio::time::Instant::now() + grace;
            }
        }
    }
}
