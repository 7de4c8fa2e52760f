//! The CLEA modules as actors on the bus.
//!
//! Each actor is a tokio task that owns one module and answers requests on its queryable
//! `clea/<ns>/agent/<module>`; every answer is also published on the module's topic
//! (`observation`, `belief`, `plan`, `verdict`, `action`) so the episode log and other tools see
//! it. Actors talk only through bus messages, so any of them can run in another process.

use crate::executor::Executor;
use crate::modules::{Critic, ModuleError, Observer, Planner, Summarizer};
use async_trait::async_trait;
use clea_bus::msg::{
    ActionRecord, Belief, CameraImage, CompressedImage, CritiqueRequest, ExecuteRequest,
    MemoryRequest, ModelCall, Observation, ObserveRequest, Plan, PlanRequest, RobotObservation,
    Verdict,
};
use clea_bus::{decode, encode, Bus, BusError, Subscription};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::Instrument;

/// The actors an agent process can run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// Observer.
    Observer,
    /// Memory (summarizer).
    Memory,
    /// Planner.
    Planner,
    /// Critic.
    Critic,
    /// Executor.
    Executor,
}

impl ActorKind {
    /// Every module actor.
    pub const ALL: [ActorKind; 5] = [
        ActorKind::Observer,
        ActorKind::Memory,
        ActorKind::Planner,
        ActorKind::Critic,
        ActorKind::Executor,
    ];

    /// The name used in keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Observer => "observer",
            ActorKind::Memory => "memory",
            ActorKind::Planner => "planner",
            ActorKind::Critic => "critic",
            ActorKind::Executor => "executor",
        }
    }
}

/// A module behind a queryable: one request type in, one reply type out.
#[async_trait]
trait Handler: Send + 'static {
    type Req: DeserializeOwned + Send;
    type Rep: Serialize + Send + Sync;
    /// Step of the request, for the tracing span.
    fn step(req: &Self::Req) -> u32;
    async fn handle(&mut self, req: Self::Req) -> Result<Self::Rep, ModuleError>;
}

struct ObserverActor {
    module: Box<dyn Observer>,
    robots: Subscription<RobotObservation>,
    latest: BTreeMap<String, RobotObservation>,
    /// Camera frames, for an observer that wants them.
    frames: Option<FrameInputs>,
    /// The world's names of the current episode (sent with its first request).
    vocabulary: Option<clea_bus::msg::WorldVocabulary>,
}

/// The newest image of every camera, filled by a task that reads the camera topics all the time
/// (a subscriber read only on requests would fill up and hold back the bus).
type FrameInputs = std::sync::Arc<std::sync::Mutex<crate::frames::LatestFrames>>;

/// Read `raw` and `compressed` camera images into `frames` until the subscriptions close.
async fn read_frames(
    raw: Subscription<CameraImage>,
    compressed: Subscription<CompressedImage>,
    frames: FrameInputs,
) {
    use crate::frames::{camera_of_key, BusImage};
    let keep = |key: &str, img: BusImage| {
        if let Some((robot, cam)) = camera_of_key(key) {
            if let Ok(mut f) = frames.lock() {
                f.insert(&robot, &cam, img);
            }
        }
    };
    loop {
        tokio::select! {
            m = raw.recv() => match m {
                Some((key, m)) => keep(&key, BusImage::Raw(m)),
                None => break,
            },
            m = compressed.recv() => match m {
                Some((key, m)) => keep(&key, BusImage::Compressed(m)),
                None => break,
            },
        }
    }
}

#[async_trait]
impl Handler for ObserverActor {
    type Req = ObserveRequest;
    type Rep = Observation;
    fn step(req: &ObserveRequest) -> u32 {
        req.step
    }
    async fn handle(&mut self, req: ObserveRequest) -> Result<Observation, ModuleError> {
        // Observations published before the request are already queued: take them all.
        let incoming = std::iter::from_fn(|| self.robots.try_recv().map(|(_, o)| o));
        for o in req.robots.into_iter().chain(incoming.collect::<Vec<_>>()) {
            let newer = self
                .latest
                .get(&o.robot)
                .is_none_or(|old| old.step <= o.step);
            if newer {
                self.latest.insert(o.robot.clone(), o);
            }
        }
        if req.vocabulary.is_some() {
            self.vocabulary = req.vocabulary;
        }
        // A new episode starts at step 0: forget robots of an older one.
        if req.step == 0 {
            self.latest.retain(|_, o| o.step == 0);
        }
        let robots: Vec<RobotObservation> = self.latest.values().cloned().collect();
        match &self.frames {
            Some(f) => {
                let frames = f.lock().map(|f| f.frames()).unwrap_or_default();
                self.module
                    .observe_frames(req.step, &robots, &frames, self.vocabulary.as_ref())
                    .await
            }
            None => self.module.observe(req.step, &robots).await,
        }
    }
}

struct MemoryActor(Box<dyn Summarizer>);

#[async_trait]
impl Handler for MemoryActor {
    type Req = MemoryRequest;
    type Rep = Belief;
    fn step(req: &MemoryRequest) -> u32 {
        req.observation.step
    }
    async fn handle(&mut self, req: MemoryRequest) -> Result<Belief, ModuleError> {
        self.0.summarize(&req).await
    }
}

struct PlannerActor(Box<dyn Planner>);

#[async_trait]
impl Handler for PlannerActor {
    type Req = PlanRequest;
    type Rep = Plan;
    fn step(req: &PlanRequest) -> u32 {
        req.belief.step
    }
    async fn handle(&mut self, req: PlanRequest) -> Result<Plan, ModuleError> {
        self.0.plan(&req).await
    }
}

struct CriticActor {
    module: Box<dyn Critic>,
    /// Camera frames, for a critic that wants them.
    frames: Option<FrameInputs>,
}

#[async_trait]
impl Handler for CriticActor {
    type Req = CritiqueRequest;
    type Rep = Verdict;
    fn step(req: &CritiqueRequest) -> u32 {
        req.belief.step
    }
    async fn handle(&mut self, req: CritiqueRequest) -> Result<Verdict, ModuleError> {
        match &self.frames {
            Some(f) => {
                let frames = f.lock().map(|f| f.frames()).unwrap_or_default();
                self.module.judge_frames(&req, &frames).await
            }
            None => self.module.judge(&req).await,
        }
    }
}

struct ExecutorActor(Executor);

#[async_trait]
impl Handler for ExecutorActor {
    type Req = ExecuteRequest;
    type Rep = ActionRecord;
    fn step(req: &ExecuteRequest) -> u32 {
        req.step
    }
    async fn handle(&mut self, req: ExecuteRequest) -> Result<ActionRecord, ModuleError> {
        let r = self.0.execute_call(&req.call).await;
        Ok(ActionRecord {
            step: req.step,
            call: req.call,
            outcome: r.outcome,
            accepted: r.accepted,
        })
    }
}

/// Running actors; dropping the set stops them.
#[derive(Default)]
pub struct ActorSet {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ActorSet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl ActorSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `module` as the observer actor.
    ///
    /// # Errors
    /// [`BusError`] when the queryable or the robots' observation subscriber cannot be declared.
    pub async fn observer(&mut self, bus: &Bus, module: Box<dyn Observer>) -> Result<(), BusError> {
        self.observer_logged(bus, module, None).await
    }

    /// Run `module` as the observer actor; when it wants camera frames, the actor subscribes to
    /// every robot camera's `image` and `image_compressed`; its model calls (from `log`) are
    /// published on `clea/<ns>/model/call`.
    async fn observer_logged(
        &mut self,
        bus: &Bus,
        module: Box<dyn Observer>,
        log: Option<UnboundedReceiver<ModelCall>>,
    ) -> Result<(), BusError> {
        let robots = bus.subscribe(&bus.keys.any_robot_observation()).await?;
        let frames = if module.wants_frames() {
            Some(self.frame_inputs(bus).await?)
        } else {
            None
        };
        let h = ObserverActor {
            module,
            robots,
            latest: BTreeMap::new(),
            frames,
            vocabulary: None,
        };
        self.spawn_logged(bus, ActorKind::Observer, bus.keys.observation(), h, log)
            .await
    }

    /// Run `module` as the memory actor.
    ///
    /// # Errors
    /// [`BusError`] when the queryable cannot be declared.
    pub async fn memory(&mut self, bus: &Bus, module: Box<dyn Summarizer>) -> Result<(), BusError> {
        self.spawn(
            bus,
            ActorKind::Memory,
            bus.keys.belief(),
            MemoryActor(module),
        )
        .await
    }

    /// Run `module` as the planner actor.
    ///
    /// # Errors
    /// [`BusError`] when the queryable cannot be declared.
    pub async fn planner(&mut self, bus: &Bus, module: Box<dyn Planner>) -> Result<(), BusError> {
        self.spawn(
            bus,
            ActorKind::Planner,
            bus.keys.plan(),
            PlannerActor(module),
        )
        .await
    }

    /// Run `module` as the critic actor.
    ///
    /// # Errors
    /// [`BusError`] when the queryable cannot be declared.
    pub async fn critic(&mut self, bus: &Bus, module: Box<dyn Critic>) -> Result<(), BusError> {
        self.critic_logged(bus, module, None).await
    }

    /// Run `module` as the critic actor, with camera frames when it wants them; its model calls
    /// (from `log`) are published on `clea/<ns>/model/call`.
    async fn critic_logged(
        &mut self,
        bus: &Bus,
        module: Box<dyn Critic>,
        log: Option<UnboundedReceiver<ModelCall>>,
    ) -> Result<(), BusError> {
        let frames = if module.wants_frames() {
            Some(self.frame_inputs(bus).await?)
        } else {
            None
        };
        let h = CriticActor { module, frames };
        self.spawn_logged(bus, ActorKind::Critic, bus.keys.verdict(), h, log)
            .await
    }

    /// The newest frame of every robot camera, kept by a task reading `image` and
    /// `image_compressed` of every camera under `clea/<ns>/robot/`.
    async fn frame_inputs(&mut self, bus: &Bus) -> Result<FrameInputs, BusError> {
        let ns = bus.keys.namespace();
        let raw = bus
            .subscribe(&format!("clea/{ns}/robot/*/camera/*/image"))
            .await?;
        let compressed = bus
            .subscribe(&format!("clea/{ns}/robot/*/camera/*/image_compressed"))
            .await?;
        let frames = FrameInputs::default();
        self.tasks
            .push(tokio::spawn(read_frames(raw, compressed, frames.clone())));
        Ok(frames)
    }

    /// Run the executor actor; `skill_timeout` bounds each skill after acceptance.
    ///
    /// # Errors
    /// [`BusError`] when the queryable or subscriber cannot be declared.
    pub async fn executor(
        &mut self,
        bus: &Bus,
        skill_timeout: Option<Duration>,
    ) -> Result<(), BusError> {
        let exec = Executor::new(bus, skill_timeout).await?;
        self.spawn(
            bus,
            ActorKind::Executor,
            bus.keys.action(),
            ExecutorActor(exec),
        )
        .await
    }

    async fn spawn<H: Handler>(
        &mut self,
        bus: &Bus,
        kind: ActorKind,
        out_key: String,
        handler: H,
    ) -> Result<(), BusError> {
        self.spawn_logged(bus, kind, out_key, handler, None).await
    }

    /// Like `spawn`, publishing the module's model calls (from `log`) on `clea/<ns>/model/call`
    /// before its output, so a log always holds the calls that led to a decision.
    async fn spawn_logged<H: Handler>(
        &mut self,
        bus: &Bus,
        kind: ActorKind,
        out_key: String,
        mut handler: H,
        mut log: Option<UnboundedReceiver<ModelCall>>,
    ) -> Result<(), BusError> {
        let key = bus.keys.agent(kind.as_str());
        let q = bus
            .session
            .declare_queryable(key.clone())
            .await
            .map_err(BusError::zenoh)?;
        let bus = bus.clone();
        self.tasks.push(tokio::spawn(async move {
            while let Ok(query) = q.recv_async().await {
                let bytes = query
                    .payload()
                    .map(|p| p.to_bytes().to_vec())
                    .unwrap_or_default();
                let req = match decode::<H::Req>(&key, &bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(module = kind.as_str(), error = %e, "bad request");
                        let e = ModuleError::BadRequest(e.to_string());
                        let _ = query.reply_err(encode(&e)).await;
                        continue;
                    }
                };
                let span =
                    tracing::info_span!("module", module = kind.as_str(), step = H::step(&req));
                let result = handler.handle(req).instrument(span).await;
                if let Some(log) = log.as_mut() {
                    while let Ok(call) = log.try_recv() {
                        if let Err(e) = bus.publish(&bus.keys.model_call(), &call).await {
                            tracing::warn!(error = %e, "cannot publish a model call");
                        }
                    }
                }
                match result {
                    Ok(rep) => {
                        // Encode once: the same bytes go to the topic and to the caller.
                        let bytes = encode(&rep);
                        if let Err(e) = bus.session.put(&out_key, bytes.clone()).await {
                            tracing::warn!(error = %e, "cannot publish module output");
                        }
                        let _ = query.reply(query.key_expr().clone(), bytes).await;
                    }
                    Err(e) => {
                        tracing::warn!(module = kind.as_str(), error = %e, "module failed");
                        let _ = query.reply_err(encode(&e)).await;
                    }
                }
            }
        }));
        Ok(())
    }
}

/// Calls module actors (from the controller).
#[derive(Clone)]
pub struct ModuleClient {
    bus: Bus,
}

/// Why a module call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    /// No actor answered in time.
    #[error("{0}: no answer in time (is the actor running?)")]
    NoAnswer(&'static str),
    /// The actor answered with an error (its kind kept across the bus).
    #[error("{0}: {1}")]
    Module(&'static str, ModuleError),
    /// The query could not be sent.
    #[error("{0}: {1}")]
    Transport(&'static str, String),
    /// The reply did not decode.
    #[error("{0}: {1}")]
    Decode(&'static str, String),
}

impl ModuleClient {
    /// A client on `bus`.
    pub fn new(bus: &Bus) -> Self {
        Self { bus: bus.clone() }
    }

    /// Send `req` to the `kind` actor and wait up to `timeout` for its reply.
    ///
    /// # Errors
    /// [`CallFailure`] naming the module.
    pub async fn call<Req: Serialize, Rep: DeserializeOwned>(
        &self,
        kind: ActorKind,
        req: &Req,
        timeout: Duration,
    ) -> Result<Rep, CallFailure> {
        let name = kind.as_str();
        let key = self.bus.keys.agent(name);
        let replies = self
            .bus
            .session
            .get(key.clone())
            .payload(encode(req))
            .timeout(timeout)
            .await
            .map_err(|e| CallFailure::Transport(name, e.to_string()))?;
        let reply = replies
            .recv_async()
            .await
            .map_err(|_| CallFailure::NoAnswer(name))?;
        match reply.result() {
            Ok(s) => decode(&key, &s.payload().to_bytes())
                .map_err(|e| CallFailure::Decode(name, e.to_string())),
            // An error that is not a module's (zenoh's own, when the query timed out) means no
            // module answered.
            Err(e) => match decode::<ModuleError>(&key, &e.payload().to_bytes()) {
                Ok(m) => Err(CallFailure::Module(name, m)),
                Err(_) => Err(CallFailure::NoAnswer(name)),
            },
        }
    }
}

impl ActorSet {
    /// Run the symbolic backends for `kinds` (the embedded default): structured observer,
    /// symbolic summarizer with a `history`-entry buffer, search planner, rule critic, and the
    /// executor with `skill_timeout`.
    ///
    /// # Errors
    /// [`BusError`] when an actor cannot be declared.
    pub async fn symbolic(
        bus: &Bus,
        kinds: &[ActorKind],
        history: usize,
        skill_timeout: Duration,
    ) -> Result<Self, BusError> {
        use crate::symbolic::{RuleCritic, SearchPlanner, StructuredObserver, SymbolicSummarizer};
        let mut set = ActorSet::new();
        for k in kinds {
            match k {
                ActorKind::Observer => set.observer(bus, Box::new(StructuredObserver)).await?,
                ActorKind::Memory => {
                    set.memory(bus, Box::new(SymbolicSummarizer::new(history)))
                        .await?
                }
                ActorKind::Planner => set.planner(bus, Box::new(SearchPlanner)).await?,
                ActorKind::Critic => set.critic(bus, Box::new(RuleCritic)).await?,
                ActorKind::Executor => set.executor(bus, Some(skill_timeout)).await?,
            }
        }
        Ok(set)
    }
}

/// Why actors could not be built from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The bus failed.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A model endpoint or cassette could not be set up.
    #[error("{0}")]
    Model(String),
}

impl ActorSet {
    /// Run `kinds` with the backends `models` chooses (symbolic where it chooses none).
    ///
    /// # Errors
    /// [`BuildError::Model`] when an endpoint cannot be set up (e.g. its API key variable is
    /// unset), a template cannot be read, or the cassette log cannot be read;
    /// [`BuildError::Bus`] when an actor cannot be declared.
    pub async fn build(
        bus: &Bus,
        kinds: &[ActorKind],
        models: &crate::backends::ModelsConfig,
        history: usize,
        skill_timeout: Duration,
    ) -> Result<Self, BuildError> {
        use crate::backends::{Backend, ModuleConfig};
        use crate::model::{self, client::ChatBackend, ModelRuntime};
        use crate::symbolic::{RuleCritic, SearchPlanner, StructuredObserver, SymbolicSummarizer};
        use std::sync::Arc;
        if !models.uses_models() {
            return Ok(Self::symbolic(bus, kinds, history, skill_timeout).await?);
        }
        let mut backends: BTreeMap<String, Arc<dyn ChatBackend>> = BTreeMap::new();
        for (name, cfg) in &models.endpoints {
            let b: Arc<dyn ChatBackend> = match &models.cassette {
                Some(path) => Arc::new(
                    model::cassette::CassetteBackend::from_log(path, cfg.clone())
                        .map_err(|e| BuildError::Model(format!("cassette: {e}")))?,
                ),
                None => Arc::new(
                    model::client::HttpBackend::new(cfg.clone())
                        .map_err(|e| BuildError::Model(format!("endpoint {name}: {e}")))?,
                ),
            };
            backends.insert(name.clone(), b);
        }
        let runtime =
            |m: &ModuleConfig| -> Result<(ModelRuntime, UnboundedReceiver<ModelCall>), BuildError> {
                let name = m.endpoint.as_deref().unwrap_or_default();
                let backend = backends
                    .get(name)
                    .ok_or_else(|| BuildError::Model(format!("no endpoint named {name:?}")))?
                    .clone();
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                Ok((
                    ModelRuntime {
                        backend,
                        log: Some(tx),
                        repairs: m.repairs,
                    },
                    rx,
                ))
            };
        let template = |m: &ModuleConfig, default: &str| -> Result<String, BuildError> {
            match &m.template {
                Some(p) => std::fs::read_to_string(p)
                    .map_err(|e| BuildError::Model(format!("{}: {e}", p.display()))),
                None => Ok(default.to_string()),
            }
        };
        let mut set = ActorSet::new();
        let mods = &models.modules;
        for k in kinds {
            match k {
                ActorKind::Observer => match mods.observer.backend {
                    Backend::Symbolic => set.observer(bus, Box::new(StructuredObserver)).await?,
                    _ => {
                        let (rt, rx) = runtime(&mods.observer)?;
                        let t = template(&mods.observer, model::prompt::OBSERVER)?;
                        let o = model::observer::ModelObserver::with_template(rt, t);
                        set.observer_logged(bus, Box::new(o), Some(rx)).await?
                    }
                },
                ActorKind::Executor => set.executor(bus, Some(skill_timeout)).await?,
                ActorKind::Memory => match mods.memory.backend {
                    Backend::Symbolic => {
                        set.memory(bus, Box::new(SymbolicSummarizer::new(history)))
                            .await?
                    }
                    _ => {
                        let (rt, rx) = runtime(&mods.memory)?;
                        let t = template(&mods.memory, model::prompt::SUMMARIZER)?;
                        let m = model::summarizer::ModelSummarizer::with_template(rt, history, t);
                        set.spawn_logged(
                            bus,
                            ActorKind::Memory,
                            bus.keys.belief(),
                            MemoryActor(Box::new(m)),
                            Some(rx),
                        )
                        .await?
                    }
                },
                ActorKind::Planner => match mods.planner.backend {
                    Backend::Symbolic => set.planner(bus, Box::new(SearchPlanner)).await?,
                    _ => {
                        let (rt, rx) = runtime(&mods.planner)?;
                        let t = template(&mods.planner, model::prompt::PLANNER)?;
                        let p = model::planner::ModelPlanner::with_template(rt, t);
                        set.spawn_logged(
                            bus,
                            ActorKind::Planner,
                            bus.keys.plan(),
                            PlannerActor(Box::new(p)),
                            Some(rx),
                        )
                        .await?
                    }
                },
                ActorKind::Critic => match mods.critic.backend {
                    Backend::Symbolic => set.critic(bus, Box::new(RuleCritic)).await?,
                    b => {
                        let (rt, rx) = runtime(&mods.critic)?;
                        let t = template(&mods.critic, model::prompt::CRITIC)?;
                        let c = model::critic::ModelCritic::with_template(rt, t)
                            .with_images(mods.critic.images);
                        let critic: Box<dyn Critic> = if b == Backend::RulesThenModel {
                            Box::new(model::critic::LayeredCritic::with_calls(
                                c,
                                mods.critic.model_critic,
                            ))
                        } else {
                            Box::new(c)
                        };
                        set.critic_logged(bus, critic, Some(rx)).await?
                    }
                },
            }
        }
        Ok(set)
    }
}
