//! The simulated robots on the bus.
//!
//! Each robot of the world serves the whole skill pool with the skill action protocol
//! (`clea/<ns>/robot/<robot>/skill/<skill>/...`). Goals are validated against the pool and the
//! world vocabulary (an invalid call is rejected with the validation error and counted), then
//! executed on the shared [`SimWorld`]. After every skill each robot publishes its observation;
//! new world events go to `clea/<ns>/episode/event`. An e-stop cancels running skills and rejects
//! new goals while engaged. Episodes are started and scored through two queryables, so an agent
//! in another process drives the simulator exactly as it drives a real robot.

use crate::scenario::Scenario;
use crate::world::SimWorld;
use clea_bus::action::{IncomingGoal, SkillServer};
use clea_bus::msg::{
    EStop, EpisodeEnd, EpisodeEvent, EpisodeStart, SkillOutcome, StartRequest, TaskSpec,
};
use clea_bus::{decode, encode, Bus, BusError};
use clea_skills::{validate, Action, SkillName};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex};

struct Shared {
    bus: Bus,
    world: Mutex<SimWorld>,
    /// Number of world events already published.
    published: Mutex<usize>,
    estop: watch::Receiver<bool>,
    /// Engages and releases the e-stop (a new episode releases it).
    estop_tx: watch::Sender<bool>,
}

/// Running simulated robots. Dropping it withdraws every server (their liveliness tokens go).
pub struct SimHandle {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl SimHandle {
    /// The world's event log so far (for determinism checks).
    pub async fn events(&self) -> Vec<EpisodeEvent> {
        self.shared.world.lock().await.events().to_vec()
    }

    /// A copy of the world as it is now.
    pub async fn world(&self) -> SimWorld {
        self.shared.world.lock().await.clone()
    }
}

/// Start the simulated robots of `scenario` on `bus`, with `seed` (or the scenario's).
///
/// # Errors
/// [`BusError`] when a queryable, subscriber or skill server cannot be declared.
pub async fn serve(
    bus: &Bus,
    scenario: &Scenario,
    seed: Option<u64>,
) -> Result<SimHandle, BusError> {
    let world = SimWorld::new(scenario, seed.unwrap_or(scenario.seed));
    let (estop_tx, estop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        bus: bus.clone(),
        world: Mutex::new(world),
        published: Mutex::new(0),
        estop: estop_rx,
        estop_tx,
    });
    let mut tasks = Vec::new();
    let skills: Vec<&str> = SkillName::ALL.iter().map(|s| s.as_str()).collect();
    for robot in &scenario.world.robots {
        let server = SkillServer::declare(bus, &robot.name, &skills).await?;
        tasks.push(tokio::spawn(robot_loop(shared.clone(), server)));
    }
    // Episode start.
    let start_q = bus
        .session
        .declare_queryable(bus.keys.sim_start())
        .await
        .map_err(BusError::zenoh)?;
    let sh = shared.clone();
    let default_seed = scenario.seed;
    tasks.push(tokio::spawn(async move {
        while let Ok(query) = start_q.recv_async().await {
            let bytes = query
                .payload()
                .map(|p| p.to_bytes().to_vec())
                .unwrap_or_default();
            let req: StartRequest = if bytes.is_empty() {
                StartRequest::default()
            } else {
                match decode(&sh.bus.keys.sim_start(), &bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = query.reply_err(encode(&e.to_string())).await;
                        continue;
                    }
                }
            };
            let start = {
                let mut w = sh.world.lock().await;
                let scenario = w.scenario().clone();
                *w = SimWorld::new(&scenario, req.seed.unwrap_or(default_seed));
                // A new episode is a new start: the simulated operator releases the e-stop.
                let _ = sh.estop_tx.send(false);
                *sh.published.lock().await = 0;
                EpisodeStart {
                    task: task_spec(&w),
                    observations: w.observe_all(),
                }
            };
            publish_events(&sh).await;
            publish_observations(&sh, &start.observations).await;
            let _ = query.reply(query.key_expr().clone(), encode(&start)).await;
        }
    }));
    // Episode end and scoring.
    let end_q = bus
        .session
        .declare_queryable(bus.keys.sim_end())
        .await
        .map_err(BusError::zenoh)?;
    let sh = shared.clone();
    tasks.push(tokio::spawn(async move {
        while let Ok(query) = end_q.recv_async().await {
            let bytes = query
                .payload()
                .map(|p| p.to_bytes().to_vec())
                .unwrap_or_default();
            let end: EpisodeEnd = match decode(&sh.bus.keys.sim_end(), &bytes) {
                Ok(e) => e,
                Err(e) => {
                    let _ = query.reply_err(encode(&e.to_string())).await;
                    continue;
                }
            };
            let score = sh.world.lock().await.finish(&end);
            publish_events(&sh).await;
            let _ = query.reply(query.key_expr().clone(), encode(&score)).await;
        }
    }));
    // E-stop.
    let estop_sub = bus.subscribe::<EStop>(&bus.keys.estop()).await?;
    let sh = shared.clone();
    tasks.push(tokio::spawn(async move {
        while let Some((_, e)) = estop_sub.recv().await {
            tracing::warn!(engaged = e.engaged, reason = %e.reason, "e-stop");
            let _ = sh.estop_tx.send(e.engaged);
        }
    }));
    Ok(SimHandle { shared, tasks })
}

/// The task as agents see it.
pub fn task_spec(w: &SimWorld) -> TaskSpec {
    let s = w.scenario();
    TaskSpec {
        scenario: s.name.clone(),
        instruction: s.instruction.clone(),
        goals: s.goals.iter().map(|g| g.to_string()).collect(),
        vocabulary: s.world.clone(),
        known_locations: s.known.clone(),
        max_steps: s.budgets.max_steps,
        max_wall_time_s: s.budgets.max_wall_time_s,
        seed: w.seed(),
    }
}

async fn publish_events(sh: &Shared) {
    let new: Vec<EpisodeEvent> = {
        let w = sh.world.lock().await;
        let mut published = sh.published.lock().await;
        let new = w.events()[*published..].to_vec();
        *published = w.events().len();
        new
    };
    for e in new {
        if let Err(err) = sh.bus.publish(&sh.bus.keys.episode_event(), &e).await {
            tracing::warn!(error = %err, "cannot publish episode event");
        }
    }
}

async fn publish_observations(sh: &Shared, obs: &[clea_bus::msg::RobotObservation]) {
    for o in obs {
        if let Err(err) = sh
            .bus
            .publish(&sh.bus.keys.robot_observation(&o.robot), o)
            .await
        {
            tracing::warn!(error = %err, "cannot publish observation");
        }
    }
}

async fn robot_loop(sh: Arc<Shared>, mut server: SkillServer) {
    // Goals run one at a time, as on a real robot; e-stop is watched inside `handle_goal`.
    let robot = server.robot().to_string();
    while let Some(goal) = server.next_goal().await {
        if let Err(e) = handle_goal(&sh, &robot, goal).await {
            tracing::warn!(%robot, error = %e, "goal handling failed");
        }
    }
}

async fn handle_goal(sh: &Shared, robot: &str, goal: IncomingGoal) -> Result<(), BusError> {
    let call = goal.goal.call.clone();
    let action: Result<Action, String> = {
        let w = sh.world.lock().await;
        match validate(&call, w.vocabulary()) {
            Ok(a) if a.robot() != robot => {
                Err(format!("goal sent to {robot} names robot {}", a.robot()))
            }
            Ok(_) if *sh.estop.borrow() => Err("e-stop engaged".to_string()),
            Ok(_) if w.out_of_steps() => Err(format!(
                "step budget of {} used up",
                w.scenario().budgets.max_steps
            )),
            Ok(a) => Ok(a),
            Err(e) => Err(e.to_string()),
        }
    };
    let action = match action {
        Ok(a) => a,
        Err(reason) => {
            sh.world.lock().await.reject(&call.to_string(), &reason);
            publish_events(sh).await;
            return goal.reject(reason).await;
        }
    };
    let mut active = goal.accept().await?;
    active.feedback(0.0, format!("executing {action}")).await?;
    let duration = sh.world.lock().await.scenario().skill_duration_s;
    let mut estop = sh.estop.clone();
    let interrupted = if duration > 0.0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(duration)) => None,
            _ = active.cancel_requested() => Some(SkillOutcome::Canceled),
            _ = estop.wait_for(|e| *e) => Some(SkillOutcome::Canceled),
        }
    } else if active.is_cancel_requested() {
        Some(SkillOutcome::Canceled)
    } else {
        None
    };
    let (outcome, observations) = {
        let mut w = sh.world.lock().await;
        let outcome = match interrupted {
            Some(o) => {
                w.interrupted(&action, o.clone());
                o
            }
            None => w.execute(&action),
        };
        (outcome, w.observe_all())
    };
    active.feedback(1.0, outcome.to_string()).await?;
    publish_events(sh).await;
    publish_observations(sh, &observations).await;
    active.finish(outcome).await
}
