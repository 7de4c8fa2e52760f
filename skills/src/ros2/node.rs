//! The ROS 2 side of the adapter: one thread owns the r2r node, spins it and runs the ROS 2
//! clients on a single-threaded executor (r2r's handles are not all `Send`). The bus side talks
//! to it through [`Cmd`] and gets [`Event`]s back.

use super::adapter::{AdapterError, CameraStreams, EStopStats};
use super::config::{CameraQos, InterfaceKind, RobotConfig, SkillMapping};
use clea_bus::msg::SkillOutcome;
use futures::StreamExt;
use r2r::{ActionClientGoalUntyped, ActionClientUntyped, ClientUntyped, Node, QosProfile};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// A request from the bus side.
pub(super) enum Cmd {
    /// Execute a goal of `skill` (already filled from the template).
    Goal {
        skill: String,
        goal: Value,
        events: mpsc::UnboundedSender<Event>,
        cancel: watch::Receiver<bool>,
    },
    /// E-stop engaged or released; `received` is when the bus delivered it.
    EStop { engaged: bool, received: Instant },
    /// The adapter is stopping: cancel every active ROS 2 goal (no e-stop is published) and
    /// report, once the servers answered or 1 s passed, how many were canceled.
    CancelAll { done: oneshot::Sender<usize> },
}

/// What happened to a goal on the ROS 2 side.
#[derive(Debug)]
pub(super) enum Event {
    Accepted,
    Rejected(String),
    Feedback(f32, String),
    Done(SkillOutcome),
}

#[derive(Clone)]
enum Client {
    Action(ActionClientUntyped),
    Service(Rc<ClientUntyped>),
}

type Active = Rc<RefCell<HashMap<u64, ActionClientGoalUntyped>>>;

fn ros_err(what: impl std::fmt::Display, e: r2r::Error) -> AdapterError {
    AdapterError::Ros(format!("{what}: {e}"))
}

fn qos(q: CameraQos) -> QosProfile {
    match q {
        CameraQos::SensorData => QosProfile::sensor_data(),
        CameraQos::Reliable => QosProfile::default(),
    }
}

/// Run the ROS 2 side until `cmds` closes. Reports setup (or its error) on `setup`.
pub(super) fn run(
    config: RobotConfig,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    setup: oneshot::Sender<Result<CameraStreams, AdapterError>>,
    stats: Arc<Mutex<Option<EStopStats>>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = setup.send(Err(AdapterError::Ros(format!("runtime: {e}"))));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let (mut node, clients, streams, estop_pub) = match build(&config) {
            Ok(x) => x,
            Err(e) => {
                let _ = setup.send(Err(e));
                return;
            }
        };
        if setup.send(Ok(streams)).is_err() {
            return;
        }
        let stop = Rc::new(std::cell::Cell::new(false));
        let spin_stop = stop.clone();
        let spinner = tokio::task::spawn_local(async move {
            while !spin_stop.get() {
                node.spin_once(Duration::ZERO);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let active: Active = Rc::default();
        let mut next_id = 0u64;
        while let Some(cmd) = cmds.recv().await {
            match cmd {
                Cmd::Goal {
                    skill,
                    goal,
                    events,
                    cancel,
                } => {
                    let Some((mapping, client)) = clients.get(&skill).cloned() else {
                        let _ =
                            events.send(Event::Rejected(format!("skill {skill} is not mapped")));
                        continue;
                    };
                    next_id += 1;
                    match client {
                        Client::Action(c) => {
                            let fut = action_goal(
                                c,
                                mapping,
                                goal,
                                events,
                                cancel,
                                active.clone(),
                                next_id,
                            );
                            tokio::task::spawn_local(fut);
                        }
                        Client::Service(c) => {
                            tokio::task::spawn_local(service_goal(
                                c, mapping, goal, events, cancel,
                            ));
                        }
                    }
                }
                Cmd::CancelAll { done } => {
                    let cancels: Vec<_> = active
                        .borrow()
                        .values()
                        .filter_map(|h| h.cancel().ok())
                        .collect();
                    tokio::task::spawn_local(async move {
                        let n = cancels.len();
                        let all = futures::future::join_all(cancels);
                        let _ = tokio::time::timeout(Duration::from_secs(1), all).await;
                        let _ = done.send(n);
                    });
                }
                Cmd::EStop { engaged, received } => {
                    let mut n = 0;
                    if engaged {
                        for h in active.borrow().values() {
                            if let Ok(f) = h.cancel() {
                                n += 1;
                                tokio::task::spawn_local(async move {
                                    let _ = f.await;
                                });
                            }
                        }
                    }
                    let cancel_latency = received.elapsed();
                    if let Some(p) = &estop_pub {
                        let _ = p.publish(&r2r::std_msgs::msg::Bool { data: engaged });
                    }
                    if engaged {
                        if let Ok(mut s) = stats.lock() {
                            *s = Some(EStopStats {
                                goals_canceled: n,
                                cancel_latency,
                                published_latency: received.elapsed(),
                            });
                        }
                        tracing::warn!(goals = n, ?cancel_latency, "e-stop: ROS 2 goals canceled");
                    }
                }
            }
        }
        stop.set(true);
        let _ = spinner.await;
    });
}

type Built = (
    Node,
    HashMap<String, (SkillMapping, Client)>,
    CameraStreams,
    Option<r2r::Publisher<r2r::std_msgs::msg::Bool>>,
);

/// Create the ROS 2 node, subscriptions and clients `config` asks for, and drop them: proves
/// that every interface type is in the ROS 2 install, without bridging anything. The node gets
/// its own name (`clea_check_<pid>`), so a running adapter of the same robot is not disturbed.
pub(super) fn check_interfaces(config: &RobotConfig) -> Result<(), AdapterError> {
    let mut c = config.clone();
    c.node_name = Some(format!("clea_check_{}", std::process::id()));
    c.estop = None;
    build(&c).map(drop)
}

fn build(config: &RobotConfig) -> Result<Built, AdapterError> {
    let ctx = r2r::Context::create().map_err(|e| ros_err("ROS 2 context", e))?;
    let name = config
        .node_name
        .clone()
        .unwrap_or_else(|| format!("clea_{}", config.name.replace('-', "_")));
    let mut node = Node::create(ctx, &name, &config.node_namespace)
        .map_err(|e| ros_err(format!("ROS 2 node {name}"), e))?;
    let mut streams = CameraStreams::default();
    for (cam, c) in &config.cameras {
        let sub_err = |e| ros_err(format!("subscribe {}", c.image_topic), e);
        if c.compressed() {
            let s = node
                .subscribe::<r2r::sensor_msgs::msg::CompressedImage>(&c.image_topic, qos(c.qos))
                .map_err(sub_err)?;
            streams.compressed.push((cam.clone(), Box::new(s)));
        } else {
            let s = node
                .subscribe::<r2r::sensor_msgs::msg::Image>(&c.image_topic, qos(c.qos))
                .map_err(sub_err)?;
            streams.images.push((cam.clone(), false, Box::new(s)));
        }
        if let Some(t) = &c.depth_topic {
            let s = node
                .subscribe::<r2r::sensor_msgs::msg::Image>(t, qos(c.qos))
                .map_err(|e| ros_err(format!("subscribe {t}"), e))?;
            streams.images.push((cam.clone(), true, Box::new(s)));
        }
        if let Some(t) = &c.info_topic {
            let s = node
                .subscribe::<r2r::sensor_msgs::msg::CameraInfo>(t, qos(c.qos))
                .map_err(|e| ros_err(format!("subscribe {t}"), e))?;
            streams.infos.push((cam.clone(), Box::new(s)));
        }
    }
    if let Some(t) = &config.odometry_topic {
        // Best effort matches both reliable and best-effort publishers.
        let s = node
            .subscribe::<r2r::nav_msgs::msg::Odometry>(t, QosProfile::sensor_data())
            .map_err(|e| ros_err(format!("subscribe {t}"), e))?;
        streams.odometry = Some(Box::new(s));
    }
    let mut clients = HashMap::new();
    for (skill, m) in &config.skills {
        let unknown = |e: r2r::Error| super::config::ConfigError::UnknownMessageType {
            ty: m.ty.clone(),
            what: format!("skill {skill}"),
            why: format!(
                "not found in the ROS 2 install (AMENT_PREFIX_PATH, IDL_PACKAGE_FILTER): {e}"
            ),
        };
        let client = match m.kind {
            InterfaceKind::Action => Client::Action(
                node.create_action_client_untyped(&m.server, &m.ty)
                    .map_err(unknown)?,
            ),
            InterfaceKind::Service => Client::Service(Rc::new(
                node.create_client_untyped(&m.server, &m.ty, QosProfile::services_default())
                    .map_err(unknown)?,
            )),
        };
        clients.insert(skill.clone(), (m.clone(), client));
    }
    let estop_pub = match &config.estop {
        Some(e) => Some(
            node.create_publisher::<r2r::std_msgs::msg::Bool>(
                &e.topic,
                QosProfile::default().keep_last(1).transient_local(),
            )
            .map_err(|err| ros_err(format!("publisher {}", e.topic), err))?,
        ),
        None => None,
    };
    Ok((node, clients, streams, estop_pub))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Wait for the server, up to `wait`.
async fn available<F>(poll: r2r::Result<F>, wait: Duration) -> bool
where
    F: std::future::Future<Output = r2r::Result<()>>,
{
    match poll {
        Ok(f) => matches!(tokio::time::timeout(wait, f).await, Ok(Ok(()))),
        Err(_) => false,
    }
}

fn pointer<'a>(v: &'a Value, p: &Option<String>) -> Option<&'a Value> {
    p.as_deref().and_then(|p| v.pointer(p))
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// The outcome of a result (or service response) that the server reported as successful.
fn success(m: &SkillMapping, v: &Value) -> SkillOutcome {
    match pointer(v, &m.success_field) {
        None if m.success_field.is_none() => SkillOutcome::Succeeded,
        Some(Value::Bool(true)) => SkillOutcome::Succeeded,
        _ => SkillOutcome::Failed {
            reason: match pointer(v, &m.message_field).and_then(Value::as_str) {
                Some(msg) if !msg.is_empty() => msg.to_string(),
                _ => format!("{} reported failure: {}", m.server, short(v)),
            },
        },
    }
}

fn progress(m: &SkillMapping, v: &Value) -> f32 {
    pointer(v, &m.progress_field)
        .and_then(Value::as_f64)
        .map_or(0.0, |p| p.clamp(0.0, 1.0) as f32)
}

async fn action_goal(
    client: ActionClientUntyped,
    m: SkillMapping,
    goal: Value,
    events: mpsc::UnboundedSender<Event>,
    mut cancel: watch::Receiver<bool>,
    active: Active,
    id: u64,
) {
    let reject = |why: String| {
        let _ = events.send(Event::Rejected(why));
    };
    if !available(Node::is_available(&client), secs(m.server_wait_s)).await {
        return reject(format!(
            "ROS 2 action server {} ({}) is not available (waited {} s)",
            m.server, m.ty, m.server_wait_s
        ));
    }
    let req = match client.send_goal_request(goal) {
        Ok(r) => r,
        Err(e) => return reject(format!("cannot send the goal to {}: {e}", m.server)),
    };
    let (handle, result, mut feedback) =
        match tokio::time::timeout(secs(m.accept_timeout_s), req).await {
            Err(_) => {
                return reject(format!(
                    "ROS 2 action server {} did not answer the goal within {} s",
                    m.server, m.accept_timeout_s
                ))
            }
            Ok(Err(r2r::Error::RCL_RET_ACTION_GOAL_REJECTED)) => {
                return reject(format!(
                    "the ROS 2 action server {} rejected the goal",
                    m.server
                ))
            }
            Ok(Err(e)) => return reject(format!("goal to {}: {e}", m.server)),
            Ok(Ok(x)) => x,
        };
    let _ = events.send(Event::Accepted);
    active.borrow_mut().insert(id, handle.clone());
    tokio::pin!(result);
    let mut cancel_sent = false;
    let mut feedback_open = true;
    let mut watchdog = tokio::time::interval(Duration::from_secs(1));
    watchdog.tick().await;
    let mut missing = 0;
    let outcome = loop {
        tokio::select! {
            fb = feedback.next(), if feedback_open => match fb {
                Some(Ok(v)) => {
                    let _ = events.send(Event::Feedback(progress(&m, &v), short(&v)));
                }
                Some(Err(_)) => {}
                None => feedback_open = false,
            },
            r = &mut result => break match r {
                Err(e) => SkillOutcome::Failed { reason: format!("lost the result of {}: {e}", m.server) },
                Ok((r2r::GoalStatus::Succeeded, Ok(v))) => success(&m, &v),
                Ok((r2r::GoalStatus::Canceled, _)) => SkillOutcome::Canceled,
                Ok((r2r::GoalStatus::Aborted, v)) => SkillOutcome::Failed {
                    reason: format!("the ROS 2 action server {} aborted the goal ({})", m.server,
                        v.map(|v| short(&v)).unwrap_or_default()),
                },
                Ok((s, _)) => SkillOutcome::Failed { reason: format!("{} ended the goal as {s:?}", m.server) },
            },
            c = cancel.changed(), if !cancel_sent => {
                if c.is_err() || *cancel.borrow() {
                    cancel_sent = true;
                    if let Ok(f) = handle.cancel() {
                        tokio::task::spawn_local(async move { let _ = f.await; });
                    }
                }
            }
            _ = watchdog.tick() => {
                if available(Node::is_available(&client), Duration::from_millis(500)).await {
                    missing = 0;
                } else {
                    missing += 1;
                    if missing >= 2 {
                        break SkillOutcome::Failed {
                            reason: format!("ROS 2 action server {} vanished during the goal", m.server),
                        };
                    }
                }
            }
        }
    };
    active.borrow_mut().remove(&id);
    let _ = events.send(Event::Done(outcome));
}

async fn service_goal(
    client: Rc<ClientUntyped>,
    m: SkillMapping,
    goal: Value,
    events: mpsc::UnboundedSender<Event>,
    mut cancel: watch::Receiver<bool>,
) {
    if !available(Node::is_available(&*client), secs(m.server_wait_s)).await {
        let _ = events.send(Event::Rejected(format!(
            "ROS 2 service {} ({}) is not available (waited {} s)",
            m.server, m.ty, m.server_wait_s
        )));
        return;
    }
    let req = match client.request(goal) {
        Ok(r) => r,
        Err(e) => {
            let _ = events.send(Event::Rejected(format!("cannot call {}: {e}", m.server)));
            return;
        }
    };
    let _ = events.send(Event::Accepted);
    let outcome = tokio::select! {
        r = req => match r {
            Ok(Ok(v)) => success(&m, &v),
            Ok(Err(e)) | Err(e) => SkillOutcome::Failed { reason: format!("call to {} failed: {e}", m.server) },
        },
        _ = cancel.wait_for(|c| *c) => SkillOutcome::Canceled,
    };
    let _ = events.send(Event::Done(outcome));
}
