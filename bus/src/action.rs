//! The skill action protocol, modeled on ROS 2 actions.
//!
//! For skill `s` of robot `r`, under `clea/<ns>/robot/<r>/skill/<s>/`:
//!
//! | key | zenoh primitive | ROS 2 analogue |
//! |---|---|---|
//! | `goal` | queryable: [`SkillGoal`] in, [`GoalResponse`] out | `send_goal` service |
//! | `feedback` | publication of [`SkillFeedback`] | feedback topic |
//! | `result` | publication of [`SkillResult`] | `get_result` service |
//! | `cancel` | queryable: [`CancelRequest`] in, [`CancelResponse`] out | `cancel_goal` service |
//! | `server` | liveliness token | action server discovery |
//!
//! The client subscribes to `feedback`, `result` and the server's liveliness token *before* it
//! sends the goal, so no result can be missed, and a server that disappears mid-goal (process
//! killed, link lost) ends the goal as `Failed` instead of leaving the client waiting. A client
//! deadline cancels the goal and ends it as `TimedOut`.

use crate::msg::{
    CancelRequest, CancelResponse, GoalId, GoalResponse, SkillCall, SkillFeedback, SkillGoal,
    SkillOutcome, SkillResult,
};
use crate::{decode, encode, Bus, BusError, SkillPart};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use zenoh::sample::SampleKind;

/// Errors of the skill action protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// No server answered the goal (none declared, or it did not reply within the accept timeout).
    #[error("no skill server for {robot}/{skill}")]
    NoServer {
        /// Robot.
        robot: String,
        /// Skill.
        skill: String,
    },
    /// The server rejected the goal.
    #[error("goal rejected: {0}")]
    Rejected(String),
    /// The call has no string `robot` argument, so it cannot be routed.
    #[error("skill call {0} has no robot argument")]
    NoRobot(String),
    /// Transport or decoding error.
    #[error(transparent)]
    Bus(#[from] BusError),
}

type CancelMap = Arc<Mutex<HashMap<GoalId, watch::Sender<bool>>>>;

/// Serves the skills of one robot: receives goals from all of them on one queue.
///
/// Drop it to withdraw the server: its liveliness tokens go away and clients with goals in flight
/// see the goal fail.
pub struct SkillServer {
    bus: Bus,
    robot: String,
    goals: mpsc::Receiver<IncomingGoal>,
    active: CancelMap,
    _tokens: Vec<zenoh::liveliness::LivelinessToken>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SkillServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A goal that arrived and awaits [`IncomingGoal::accept`] or [`IncomingGoal::reject`].
pub struct IncomingGoal {
    /// The goal as sent.
    pub goal: SkillGoal,
    /// Skill the goal was sent to (from the key, not from the payload).
    pub skill: String,
    query: zenoh::query::Query,
    bus: Bus,
    robot: String,
    active: CancelMap,
}

/// An accepted goal: publish feedback, watch for cancel, then [`ActiveGoal::finish`].
pub struct ActiveGoal {
    /// Goal id.
    pub goal_id: GoalId,
    /// Skill.
    pub skill: String,
    /// The call.
    pub call: SkillCall,
    bus: Bus,
    robot: String,
    cancel: watch::Receiver<bool>,
    active: CancelMap,
}

impl SkillServer {
    /// Declare goal and cancel queryables and a liveliness token for each of `skills` of `robot`.
    ///
    /// # Errors
    /// [`BusError::InvalidName`] for a robot or skill name that is not a key chunk;
    /// [`BusError::Zenoh`] when a declaration fails.
    pub async fn declare(bus: &Bus, robot: &str, skills: &[&str]) -> Result<Self, BusError> {
        crate::keys::check_chunk(robot)?;
        let (tx, rx) = mpsc::channel(64);
        let active: CancelMap = Arc::default();
        let mut tokens = Vec::new();
        let mut tasks = Vec::new();
        for skill in skills {
            crate::keys::check_chunk(skill)?;
            let goal_key = bus.keys.skill(robot, skill, SkillPart::Goal);
            let goal_q = bus
                .session
                .declare_queryable(goal_key.clone())
                .await
                .map_err(BusError::zenoh)?;
            let cancel_q = bus
                .session
                .declare_queryable(bus.keys.skill(robot, skill, SkillPart::Cancel))
                .await
                .map_err(BusError::zenoh)?;
            let tx = tx.clone();
            let (b, r, s, a) = (
                bus.clone(),
                robot.to_string(),
                skill.to_string(),
                active.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while let Ok(query) = goal_q.recv_async().await {
                    let bytes = query
                        .payload()
                        .map(|p| p.to_bytes().to_vec())
                        .unwrap_or_default();
                    match decode::<SkillGoal>(&goal_key, &bytes) {
                        Ok(goal) => {
                            let incoming = IncomingGoal {
                                goal,
                                skill: s.clone(),
                                query,
                                bus: b.clone(),
                                robot: r.clone(),
                                active: a.clone(),
                            };
                            if tx.send(incoming).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "malformed goal");
                            let _ = query.reply_err(encode(&e.to_string())).await;
                        }
                    }
                }
            }));
            let a = active.clone();
            let cancel_key = bus.keys.skill(robot, skill, SkillPart::Cancel);
            tasks.push(tokio::spawn(async move {
                while let Ok(query) = cancel_q.recv_async().await {
                    let bytes = query
                        .payload()
                        .map(|p| p.to_bytes().to_vec())
                        .unwrap_or_default();
                    let Ok(req) = decode::<CancelRequest>(&cancel_key, &bytes) else {
                        let _ = query.reply_err(encode(&"malformed cancel request")).await;
                        continue;
                    };
                    let accepted = match a.lock().expect("cancel map lock").get(&req.goal_id) {
                        Some(flag) => flag.send(true).is_ok(),
                        None => false,
                    };
                    let resp = CancelResponse {
                        goal_id: req.goal_id,
                        accepted,
                    };
                    let _ = query.reply(query.key_expr().clone(), encode(&resp)).await;
                }
            }));
            tokens.push(
                bus.session
                    .liveliness()
                    .declare_token(bus.keys.skill(robot, skill, SkillPart::Server))
                    .await
                    .map_err(BusError::zenoh)?,
            );
        }
        Ok(Self {
            bus: bus.clone(),
            robot: robot.to_string(),
            goals: rx,
            active,
            _tokens: tokens,
            tasks,
        })
    }

    /// The robot served.
    pub fn robot(&self) -> &str {
        &self.robot
    }

    /// Next incoming goal; `None` when the session closed.
    pub async fn next_goal(&mut self) -> Option<IncomingGoal> {
        self.goals.recv().await
    }

    /// Request cancellation of every active goal (e-stop). Returns how many were active.
    pub fn cancel_all(&self) -> usize {
        let map = self.active.lock().expect("cancel map lock");
        for flag in map.values() {
            let _ = flag.send(true);
        }
        map.len()
    }

    /// The bus this server is on.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }
}

impl IncomingGoal {
    /// Reject the goal with `reason`; the client gets [`ActionError::Rejected`].
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the reply cannot be sent.
    pub async fn reject(self, reason: impl Into<String>) -> Result<(), BusError> {
        let resp = GoalResponse {
            goal_id: self.goal.goal_id.clone(),
            accepted: false,
            reason: reason.into(),
        };
        self.query
            .reply(self.query.key_expr().clone(), encode(&resp))
            .await
            .map_err(BusError::zenoh)
    }

    /// Accept the goal; the client starts waiting for feedback and the result.
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the reply cannot be sent.
    pub async fn accept(self) -> Result<ActiveGoal, BusError> {
        let (flag_tx, flag_rx) = watch::channel(false);
        self.active
            .lock()
            .expect("cancel map lock")
            .insert(self.goal.goal_id.clone(), flag_tx);
        let resp = GoalResponse {
            goal_id: self.goal.goal_id.clone(),
            accepted: true,
            reason: String::new(),
        };
        self.query
            .reply(self.query.key_expr().clone(), encode(&resp))
            .await
            .map_err(BusError::zenoh)?;
        Ok(ActiveGoal {
            goal_id: self.goal.goal_id,
            skill: self.skill,
            call: self.goal.call,
            bus: self.bus,
            robot: self.robot,
            cancel: flag_rx,
            active: self.active,
        })
    }
}

impl ActiveGoal {
    /// Publish progress (`progress` in `[0, 1]`).
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the put fails.
    pub async fn feedback(&self, progress: f32, text: impl Into<String>) -> Result<(), BusError> {
        let fb = SkillFeedback {
            goal_id: self.goal_id.clone(),
            progress,
            text: text.into(),
        };
        let key = self
            .bus
            .keys
            .skill(&self.robot, &self.skill, SkillPart::Feedback);
        self.bus.publish(&key, &fb).await
    }

    /// Whether a cancel was requested.
    pub fn is_cancel_requested(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Resolves when a cancel is requested (never, if none is).
    pub async fn cancel_requested(&mut self) {
        let _ = self.cancel.wait_for(|c| *c).await;
        if !*self.cancel.borrow() {
            std::future::pending::<()>().await;
        }
    }

    /// Publish the terminal result and forget the goal.
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the put fails.
    pub async fn finish(self, outcome: SkillOutcome) -> Result<(), BusError> {
        self.active
            .lock()
            .expect("cancel map lock")
            .remove(&self.goal_id);
        let res = SkillResult {
            goal_id: self.goal_id.clone(),
            outcome,
        };
        let key = self
            .bus
            .keys
            .skill(&self.robot, &self.skill, SkillPart::Result);
        self.bus.publish(&key, &res).await
    }
}

/// Options of one goal.
#[derive(Debug, Clone, Copy)]
pub struct GoalOptions {
    /// How long to wait for accept/reject.
    pub accept_timeout: Duration,
    /// Deadline for the result after acceptance; `None` waits as long as the server lives.
    pub result_timeout: Option<Duration>,
}

impl Default for GoalOptions {
    fn default() -> Self {
        Self {
            accept_timeout: Duration::from_secs(5),
            result_timeout: None,
        }
    }
}

/// What the client's subscribers route to one goal, in arrival order.
enum Update {
    Feedback(SkillFeedback),
    Result(SkillOutcome),
    /// The server's liveliness token went away, or the client's subscribers ended (session
    /// closed); the text says which.
    Lost(&'static str),
}

type Routes = Arc<Mutex<HashMap<GoalId, (String, mpsc::UnboundedSender<Update>)>>>;

/// Sends `Lost` to every goal of one (robot, skill) when dropped: zenoh drops a subscriber's
/// callback when the subscriber or the whole session goes away.
struct LostOnDrop {
    routes: Routes,
    key: String,
}

impl Drop for LostOnDrop {
    fn drop(&mut self) {
        if let Ok(routes) = self.routes.lock() {
            for (key, tx) in routes.values() {
                if *key == self.key {
                    let _ = tx.send(Update::Lost("session closed"));
                }
            }
        }
    }
}

/// The client's subscribers of one (robot, skill), declared once and shared by all its goals.
struct Channels {
    _feedback: zenoh::pubsub::Subscriber<()>,
    _result: zenoh::pubsub::Subscriber<()>,
    _liveliness: zenoh::pubsub::Subscriber<()>,
}

/// Sends goals to skill servers.
///
/// For each (robot, skill) it talks to, the client declares its feedback, result and liveliness
/// subscribers once and routes their samples to goals by goal id, through one ordered queue per
/// goal: feedback that was published before the result always arrives before it, and a goal
/// costs no declarations.
pub struct SkillClient {
    bus: Bus,
    prefix: String,
    counter: AtomicU64,
    routes: Routes,
    channels: tokio::sync::Mutex<HashMap<String, Channels>>,
}

/// An accepted goal seen from the client: await [`GoalHandle::result`].
pub struct GoalHandle {
    /// Goal id.
    pub goal_id: GoalId,
    robot: String,
    skill: String,
    bus: Bus,
    updates: mpsc::UnboundedReceiver<Update>,
    routes: Routes,
    deadline: Option<tokio::time::Instant>,
}

impl Drop for GoalHandle {
    fn drop(&mut self) {
        if let Ok(mut r) = self.routes.lock() {
            r.remove(&self.goal_id);
        }
    }
}

/// Cancels one goal; cheap to clone and use while another task awaits the result.
#[derive(Clone)]
pub struct GoalCanceler {
    bus: Bus,
    key: String,
    goal_id: GoalId,
}

impl SkillClient {
    /// A client on `bus`. Goal ids are `<zenoh session id>-<counter>`.
    pub fn new(bus: &Bus) -> Self {
        Self {
            prefix: bus.session.zid().to_string(),
            bus: bus.clone(),
            counter: AtomicU64::new(0),
            routes: Arc::default(),
            channels: tokio::sync::Mutex::default(),
        }
    }

    /// Wait until the server of `robot`/`skill` has announced itself, up to `timeout`.
    ///
    /// # Errors
    /// [`ActionError::NoServer`] when no liveliness token appeared in time.
    pub async fn wait_for_server(
        &self,
        robot: &str,
        skill: &str,
        timeout: Duration,
    ) -> Result<(), ActionError> {
        let key = self.bus.keys.skill(robot, skill, SkillPart::Server);
        let sub = self
            .bus
            .session
            .liveliness()
            .declare_subscriber(key)
            .history(true)
            .await
            .map_err(BusError::zenoh)?;
        let wait = async {
            while let Ok(s) = sub.recv_async().await {
                if s.kind() == SampleKind::Put {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(true) => Ok(()),
            _ => Err(ActionError::NoServer {
                robot: robot.into(),
                skill: skill.into(),
            }),
        }
    }

    /// Declare the shared subscribers of `robot`/`skill` unless already declared.
    async fn ensure_channels(&self, robot: &str, skill: &str) -> Result<(), BusError> {
        let prefix = self.bus.keys.skill(robot, skill, SkillPart::Goal);
        let mut channels = self.channels.lock().await;
        if channels.contains_key(&prefix) {
            return Ok(());
        }
        let keys = &self.bus.keys;
        let route = |routes: &Routes, id: &GoalId, u: Update| {
            if let Ok(r) = routes.lock() {
                if let Some((_, tx)) = r.get(id) {
                    let _ = tx.send(u);
                }
            }
        };
        let (routes, fb_key) = (
            self.routes.clone(),
            keys.skill(robot, skill, SkillPart::Feedback),
        );
        let guard = LostOnDrop {
            routes: self.routes.clone(),
            key: prefix.clone(),
        };
        let feedback = self
            .bus
            .session
            .declare_subscriber(fb_key.clone())
            .callback(move |s| {
                let _ = &guard;
                if let Ok(f) = decode::<SkillFeedback>(&fb_key, &s.payload().to_bytes()) {
                    let id = f.goal_id.clone();
                    route(&routes, &id, Update::Feedback(f));
                }
            })
            .await
            .map_err(BusError::zenoh)?;
        let (routes, res_key) = (
            self.routes.clone(),
            keys.skill(robot, skill, SkillPart::Result),
        );
        let result = self
            .bus
            .session
            .declare_subscriber(res_key.clone())
            .callback(move |s| {
                if let Ok(r) = decode::<SkillResult>(&res_key, &s.payload().to_bytes()) {
                    route(&routes, &r.goal_id, Update::Result(r.outcome));
                }
            })
            .await
            .map_err(BusError::zenoh)?;
        let (routes, key) = (self.routes.clone(), prefix.clone());
        let liveliness = self
            .bus
            .session
            .liveliness()
            .declare_subscriber(keys.skill(robot, skill, SkillPart::Server))
            .callback(move |s| {
                if s.kind() != SampleKind::Delete {
                    return;
                }
                if let Ok(r) = routes.lock() {
                    for (k, tx) in r.values() {
                        if *k == key {
                            let _ = tx.send(Update::Lost("disappeared"));
                        }
                    }
                }
            })
            .await
            .map_err(BusError::zenoh)?;
        channels.insert(
            prefix,
            Channels {
                _feedback: feedback,
                _result: result,
                _liveliness: liveliness,
            },
        );
        Ok(())
    }

    /// Send `call` to the server of its robot and skill; returns once the goal is accepted.
    ///
    /// # Errors
    /// [`ActionError::NoRobot`] when the call names no robot; [`ActionError::NoServer`] when no
    /// server replies within `opts.accept_timeout`; [`ActionError::Rejected`] with the server's
    /// reason; [`ActionError::Bus`] for invalid names or transport errors.
    pub async fn send_goal(
        &self,
        call: &SkillCall,
        opts: GoalOptions,
    ) -> Result<GoalHandle, ActionError> {
        let robot = call
            .robot()
            .ok_or_else(|| ActionError::NoRobot(call.to_string()))?
            .to_string();
        crate::keys::check_chunk(&robot)?;
        crate::keys::check_chunk(&call.skill)?;
        self.ensure_channels(&robot, &call.skill).await?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let goal_id = GoalId(format!("{}-{n}", self.prefix));
        let goal_key = self.bus.keys.skill(&robot, &call.skill, SkillPart::Goal);
        // Route before sending, so nothing the server publishes can be missed.
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes
            .lock()
            .expect("routes lock")
            .insert(goal_id.clone(), (goal_key.clone(), tx));
        let mut handle = GoalHandle {
            goal_id: goal_id.clone(),
            robot: robot.clone(),
            skill: call.skill.clone(),
            bus: self.bus.clone(),
            updates: rx,
            routes: self.routes.clone(),
            deadline: None,
        };
        let goal = SkillGoal {
            goal_id,
            call: call.clone(),
        };
        let replies = self
            .bus
            .session
            .get(goal_key.clone())
            .payload(encode(&goal))
            .timeout(opts.accept_timeout)
            .await
            .map_err(BusError::zenoh)?;
        let no_server = || ActionError::NoServer {
            robot: robot.clone(),
            skill: call.skill.clone(),
        };
        let reply = replies.recv_async().await.map_err(|_| no_server())?;
        let sample = reply.result().map_err(|e| {
            let why = String::from_utf8_lossy(&e.payload().to_bytes()).to_string();
            ActionError::Rejected(why)
        })?;
        let resp: GoalResponse = decode(&goal_key, &sample.payload().to_bytes())?;
        if !resp.accepted {
            return Err(ActionError::Rejected(resp.reason));
        }
        handle.deadline = opts.result_timeout.map(|d| tokio::time::Instant::now() + d);
        Ok(handle)
    }
}

impl GoalHandle {
    /// A handle that cancels this goal.
    pub fn canceler(&self) -> GoalCanceler {
        GoalCanceler {
            bus: self.bus.clone(),
            key: self
                .bus
                .keys
                .skill(&self.robot, &self.skill, SkillPart::Cancel),
            goal_id: self.goal_id.clone(),
        }
    }

    /// Wait for the result, calling `on_feedback` for each feedback message (in publication
    /// order, all before the result).
    ///
    /// Never hangs on a lost server: a liveliness token that goes away ends the goal as
    /// `Unreachable { reason: "skill server ... disappeared ..." }`, and so does a closed session; a
    /// passed deadline cancels the goal and ends it as `TimedOut`.
    pub async fn result(mut self, mut on_feedback: impl FnMut(SkillFeedback)) -> SkillOutcome {
        let deadline = self.deadline;
        let wait = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(wait);
        loop {
            tokio::select! {
                u = self.updates.recv() => match u {
                    Some(Update::Feedback(f)) => on_feedback(f),
                    Some(Update::Result(outcome)) => return outcome,
                    Some(Update::Lost(what)) => return lost(&self.robot, &self.skill, what),
                    None => return lost(&self.robot, &self.skill, "session closed"),
                },
                _ = &mut wait => {
                    let _ = self.canceler().cancel(Duration::from_secs(1)).await;
                    return SkillOutcome::TimedOut;
                }
            }
        }
    }
}

fn lost(robot: &str, skill: &str, what: &str) -> SkillOutcome {
    SkillOutcome::Unreachable {
        reason: format!("skill server {robot}/{skill} {what} during the goal"),
    }
}

impl GoalCanceler {
    /// Ask the server to cancel; returns whether it accepted (the goal was active).
    ///
    /// # Errors
    /// [`BusError::NoReply`] when no server replied within `timeout`.
    pub async fn cancel(&self, timeout: Duration) -> Result<bool, BusError> {
        let req = CancelRequest {
            goal_id: self.goal_id.clone(),
        };
        let replies = self
            .bus
            .session
            .get(self.key.clone())
            .payload(encode(&req))
            .timeout(timeout)
            .await
            .map_err(BusError::zenoh)?;
        let reply = replies
            .recv_async()
            .await
            .map_err(|_| BusError::NoReply(self.key.clone()))?;
        let sample = reply
            .result()
            .map_err(|_| BusError::NoReply(self.key.clone()))?;
        let resp: CancelResponse = decode(&self.key, &sample.payload().to_bytes())?;
        Ok(resp.accepted)
    }
}
