//! The vision modules against a local OpenAI-compatible test server (wiremock). The observer:
//! camera frames go out as base64 data URLs with a schema of the world's names; replies become
//! robot observations only after validation (hallucinated names are sent back for a repair, then
//! the step fails cleanly); robots without frames keep their own observation; over the bus, the
//! observer actor takes the newest frame of each camera and logs every model call. The critic
//! with `images: true` sends the acting robot's frames, and none when images are off.

#[path = "fixtures/model_common.rs"]
mod common;

use base64::Engine as _;
use clea_agent::actors::{ActorKind, ActorSet};
use clea_agent::backends::{Backend, ModelsConfig};
use clea_agent::frames::from_raw;
use clea_agent::model::observer::ModelObserver;
use clea_agent::modules::{CameraFrame, ModuleError, Observer};
use clea_bus::msg::{
    CameraImage, Header, ModelCall, Observation, ObserveRequest, RobotObservation, Time,
};
use clea_bus::{Bus, BusConfig};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// A 4x2 rgb8 frame of robot_1's head camera.
fn image(sec: i32) -> CameraImage {
    CameraImage {
        header: Header {
            stamp: Time { sec, nanosec: 0 },
            frame_id: "head_optical".into(),
        },
        height: 2,
        width: 4,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 12,
        data: (0..24).map(|i| i + sec as u8).collect(),
    }
}

fn frame() -> CameraFrame {
    from_raw("robot_1", "head", &image(7)).unwrap()
}

/// robot_1's own report: where its base is, nothing seen (no detector on this robot).
fn own_report(step: u32) -> RobotObservation {
    RobotObservation {
        robot: "robot_1".into(),
        step,
        place: Some("in_front_of_refrigerator".into()),
        holding: vec![],
        in_view: vec![],
    }
}

fn reply_text(receptacle: &str, objects: &[&str], holding: &[&str]) -> String {
    json!({
        "reasoning": "the fridge door is open; an apple on the middle shelf",
        "in_view": [{
            "receptacle": receptacle,
            "open": true,
            "contents_visible": true,
            "objects": objects.iter().map(|o| json!({"object": o, "roasted": false})).collect::<Vec<_>>(),
        }],
        "holding": holding,
    })
    .to_string()
}

/// The data URLs of the images in a request body.
fn image_urls(body: &Value) -> Vec<String> {
    body["messages"][0]["content"]
        .as_array()
        .expect("content parts")
        .iter()
        .filter(|p| p["type"] == "image_url")
        .map(|p| p["image_url"]["url"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_frame_becomes_a_validated_observation() {
    let s = server([reply(&reply_text("refrigerator", &["apple"], &[]))]).await;
    let (rt, mut log) = runtime(endpoint(&s), 2);
    let mut obs = ModelObserver::new(rt);
    assert!(obs.wants_frames());
    let v = vocab();
    let f = frame();
    let o = within(
        "observe",
        LIMIT,
        obs.observe_frames(3, &[own_report(3)], std::slice::from_ref(&f), Some(&v)),
    )
    .await
    .unwrap();
    assert_eq!(o.step, 3);
    let r = o.robots.iter().find(|r| r.robot == "robot_1").unwrap();
    assert_eq!(
        r.place.as_deref(),
        Some("in_front_of_refrigerator"),
        "place from the robot"
    );
    assert_eq!(r.in_view.len(), 1);
    assert_eq!(r.in_view[0].receptacle, "refrigerator");
    assert_eq!(r.in_view[0].open, Some(true));
    assert_eq!(r.in_view[0].objects[0].object, "apple");
    assert!(o.text.contains("apple"), "{}", o.text);
    // robot_2 has no camera frame and no report: it is absent.
    assert!(o.robots.iter().all(|r| r.robot != "robot_2"));

    // The request: the frame as a PNG data URL, the world's names as enums, quoted report.
    let b = &bodies(&s).await[0];
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&f.bytes)
    );
    assert_eq!(image_urls(b), [url]);
    let schema = &b["response_format"]["json_schema"]["schema"];
    let receptacles = &schema["properties"]["in_view"]["items"]["properties"]["receptacle"]["enum"];
    assert!(
        receptacles
            .as_array()
            .unwrap()
            .contains(&json!("refrigerator")),
        "{schema}"
    );
    let text = b["messages"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("robot robot_1"), "{text}");
    assert!(text.contains("in_front_of_refrigerator"), "{text}");
    let calls = logged(&mut log);
    assert_eq!(outcomes(&calls), ["accepted"]);
    assert_eq!(calls[0].module, "observer");
    assert!(obs.last_usage().is_some_and(|u| u.calls == 1));
}

#[tokio::test]
async fn hallucinated_names_are_sent_back_then_the_step_fails_cleanly() {
    // A receptacle the world lacks, then a valid reply: one repair.
    let s = server([
        reply(&reply_text("kitchen_island", &["apple"], &[])),
        reply(&reply_text("refrigerator", &["apple"], &[])),
    ])
    .await;
    let (rt, mut log) = runtime(endpoint(&s), 2);
    let mut obs = ModelObserver::new(rt);
    let v = vocab();
    let o = within(
        "observe",
        LIMIT,
        obs.observe_frames(1, &[own_report(1)], &[frame()], Some(&v)),
    )
    .await
    .unwrap();
    assert_eq!(o.robots[0].in_view[0].receptacle, "refrigerator");
    let calls = logged(&mut log);
    assert_eq!(calls.len(), 2);
    assert!(
        calls[0]
            .outcome
            .to_string()
            .contains("\"kitchen_island\" is not a receptacle of this world"),
        "{}",
        calls[0].outcome
    );
    // The repair turn carries the rejection back to the model.
    let second = &bodies(&s).await[1];
    let repair = second["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(repair.contains("kitchen_island"), "{repair}");

    // An object held that the world lacks, and one object in two places: rejected every time;
    // after the repairs the observer fails the step with the reason, nothing is made up.
    for bad in [
        reply_text("refrigerator", &["apple"], &["golden_key"]),
        reply_text("refrigerator", &["apple"], &["apple"]),
        reply_text("refrigerator", &["apple", "orange"], &["orange", "apple"]),
    ] {
        let s = server([reply(&bad)]).await;
        let (rt, mut log) = runtime(endpoint(&s), 1);
        let mut obs = ModelObserver::new(rt);
        let e = within(
            "observe",
            LIMIT,
            obs.observe_frames(1, &[own_report(1)], &[frame()], Some(&v)),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ModuleError::NoAnswer(_)), "{e}");
        let calls = logged(&mut log);
        assert_eq!(calls.len(), 2, "one call and one repair");
        assert!(
            calls
                .iter()
                .all(|c| c.outcome.to_string().starts_with("rejected:")),
            "{calls:?}"
        );
    }
}

/// What the robot cannot see from where it stands, an openable without its state and a
/// receptacle without `contents_visible` are sent back; what the gripper reports it holds wins
/// over the picture.
#[tokio::test]
async fn replies_are_held_to_the_robots_view_and_its_own_gripper() {
    let v = vocab();
    let unseen = json!({
        "reasoning": "r",
        "in_view": [{"receptacle": "sink", "open": null, "contents_visible": true, "objects": []}],
        "holding": [],
    });
    let no_open = json!({
        "reasoning": "r",
        "in_view": [{"receptacle": "refrigerator", "open": null, "contents_visible": true, "objects": []}],
        "holding": [],
    });
    let no_visible = json!({
        "reasoning": "r",
        "in_view": [{"receptacle": "refrigerator", "open": true, "objects": []}],
        "holding": [],
    });
    for (bad, why) in [
        (
            unseen,
            "robot_1 cannot see \"sink\" from where it is; it sees only: refrigerator",
        ),
        (no_open, "refrigerator opens: say whether it is open"),
        (no_visible, "missing boolean \"contents_visible\""),
    ] {
        let s = server([
            reply(&bad.to_string()),
            reply(&reply_text("refrigerator", &[], &["apple"])),
        ])
        .await;
        let (rt, mut log) = runtime(endpoint(&s), 2);
        let mut obs = ModelObserver::new(rt);
        let mut own = own_report(4);
        own.holding = vec!["orange".into()];
        let o = within(
            "observe",
            LIMIT,
            obs.observe_frames(4, &[own], &[frame()], Some(&v)),
        )
        .await
        .unwrap();
        let calls = logged(&mut log);
        assert!(
            calls[0].outcome.to_string().contains(why),
            "{why}: {}",
            calls[0].outcome
        );
        assert_eq!(calls[1].outcome, "accepted");
        assert_eq!(o.robots[0].holding, ["orange"], "the gripper's report wins");
    }
}

#[tokio::test]
async fn without_frames_no_model_is_asked() {
    let s = server([reply("{}")]).await;
    let (rt, mut log) = runtime(endpoint(&s), 2);
    let mut obs = ModelObserver::new(rt);
    let v = vocab();
    let o = obs
        .observe_frames(2, &[own_report(2)], &[], Some(&v))
        .await
        .unwrap();
    assert_eq!(o.robots, [own_report(2)]);
    assert!(logged(&mut log).is_empty());
    assert!(bodies(&s).await.is_empty());
    // Frames but no world names: a bad request, not a guess.
    let e = obs
        .observe_frames(2, &[], &[frame()], None)
        .await
        .unwrap_err();
    assert!(matches!(e, ModuleError::BadRequest(_)), "{e}");
}

/// Over the bus: the observer actor (model backend from a launch-file-like configuration) keeps
/// the newest camera frame, asks the model on request and logs the call on `model/call`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_actor_reads_camera_frames_from_the_bus() {
    let s = server([reply(&reply_text("refrigerator", &["apple"], &[]))]).await;
    let bus = within(
        "bus",
        LIMIT,
        Bus::open(&BusConfig {
            namespace: format!("vlm{}", std::process::id()),
            ..BusConfig::default()
        }),
    )
    .await
    .unwrap();
    let mut models = ModelsConfig::default();
    models.endpoints.insert("vlm".into(), endpoint(&s));
    models.modules.observer.backend = Backend::Model;
    models.modules.observer.endpoint = Some("vlm".into());
    models.check().unwrap();
    let _actors = within(
        "actors",
        LIMIT,
        ActorSet::build(
            &bus,
            &[ActorKind::Observer],
            &models,
            8,
            Duration::from_secs(5),
        ),
    )
    .await
    .unwrap();
    let calls = bus
        .subscribe::<ModelCall>(&bus.keys.model_call())
        .await
        .unwrap();
    let key = bus.keys.camera_image("robot_1", "head");
    // The last frame to arrive is kept, whatever its stamp (a camera clock may restart).
    bus.publish(&key, &image(9)).await.unwrap();
    bus.publish(&key, &image(8)).await.unwrap();
    bus.publish(&bus.keys.robot_observation("robot_1"), &own_report(0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let req = ObserveRequest {
        step: 0,
        robots: vec![],
        vocabulary: Some(vocab()),
    };
    let replies = bus
        .session
        .get(bus.keys.agent("observer"))
        .payload(clea_bus::encode(&req))
        .timeout(LIMIT)
        .await
        .unwrap();
    let reply = within("observer reply", LIMIT, replies.recv_async())
        .await
        .unwrap();
    let bytes = reply
        .result()
        .expect("the observer answered")
        .payload()
        .to_bytes();
    let o: Observation = serde_json::from_slice(&bytes).unwrap();
    let r = &o.robots[0];
    assert_eq!(r.in_view[0].objects[0].object, "apple");
    assert_eq!(r.place.as_deref(), Some("in_front_of_refrigerator"));
    let (_, call) = within("model call on the bus", LIMIT, calls.recv())
        .await
        .unwrap();
    assert_eq!(
        (call.module.as_str(), call.outcome.to_string().as_str()),
        ("observer", "accepted")
    );
    let newest = from_raw("robot_1", "head", &image(8)).unwrap();
    let b = &bodies(&s).await[0];
    assert_eq!(
        image_urls(b),
        [format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&newest.bytes)
        )]
    );
}

/// The vision critic: the acting robot's newest frame goes with the question (not another
/// robot's); with images off, the question is text only.
#[tokio::test]
async fn the_vision_critic_sees_the_acting_robots_frames() {
    use clea_agent::model::critic::ModelCritic;
    use clea_agent::modules::Critic;
    use clea_bus::msg::CritiqueRequest;
    let verdict = json!({"reasoning": "the fridge is open", "feasible": true, "feedback": "ok"});
    let t = task(&["found(apple)"]);
    let pr = plan_request(&t).await;
    let req = CritiqueRequest {
        task: t,
        belief: pr.belief,
        observation: pr.observation,
        action: Some(clea_skills::parse_call("go_to(robot_1, in_front_of_sink)").unwrap()),
        subgoal: "look for the apple".into(),
        trigger: Default::default(),
    };
    let mine = frame();
    let other = from_raw("robot_2", "wrist", &image(3)).unwrap();
    for images in [true, false] {
        let s = server([reply(&verdict.to_string())]).await;
        let (rt, mut log) = runtime(endpoint(&s), 1);
        let mut critic = ModelCritic::new(rt).with_images(images);
        assert_eq!(critic.wants_frames(), images);
        let v = within(
            "judge",
            LIMIT,
            critic.judge_frames(&req, &[mine.clone(), other.clone()]),
        )
        .await
        .unwrap();
        assert!(v.feasible);
        assert_eq!(outcomes(&logged(&mut log)), ["accepted"]);
        let b = &bodies(&s).await[0];
        if images {
            let url = format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&mine.bytes)
            );
            assert_eq!(image_urls(b), [url], "robot_1's frame only");
        } else {
            assert!(b["messages"][0]["content"].is_string(), "text only: {b}");
        }
    }
}
