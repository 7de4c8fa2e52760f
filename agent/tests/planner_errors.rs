//! The planner-error model without a bus: each kind breaks the plan the way it says, and the
//! wrapper's errors are reproducible from its seed.

use clea_agent::modules::Planner;
use clea_agent::planner_errors::{corrupt, ErrorModel, ErrorPlanner, PlannerError};
use clea_bus::msg::*;
use clea_skills::{parse_call, validate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn vocab() -> WorldVocabulary {
    serde_yaml::from_str(
        r#"
navigation_points: [in_front_of_table, in_front_of_refrigerator]
receptacles:
  - { name: table, kind: surface, near: in_front_of_table }
  - { name: refrigerator, kind: container, openable: true, near: in_front_of_refrigerator }
objects: [apple, orange]
robots:
  - { name: robot_1, mobile: true, arms: 2, carry: 1 }
  - { name: robot_2, mobile: false, reach: [table] }
"#,
    )
    .expect("a world vocabulary")
}

fn request() -> PlanRequest {
    PlanRequest {
        task: TaskSpec {
            scenario: "t".into(),
            instruction: "bring the apple to the table".into(),
            goals: vec!["on(apple, table)".into()],
            vocabulary: vocab(),
            known_locations: Default::default(),
            max_steps: 30,
            max_wall_time_s: 10.0,
            seed: 0,
        },
        belief: Belief::default(),
        observation: Observation {
            step: 0,
            robots: vec![],
            text: String::new(),
        },
        feedback: vec![],
        subgoal: None,
        max_actions: 5,
    }
}

fn plan() -> Plan {
    Plan {
        step: 0,
        subgoal: "bring apple to table".into(),
        actions: [
            "go_to(robot_1, in_front_of_refrigerator)",
            "open(robot_1, refrigerator)",
            "pick_from(robot_1, apple, refrigerator)",
        ]
        .iter()
        .map(|c| parse_call(c).unwrap())
        .collect(),
        done: false,
        reasoning: String::new(),
        usage: None,
    }
}

fn texts(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|c| match validate(c, &vocab()) {
            Ok(a) => a.to_string(),
            Err(e) => format!("invalid: {e}"),
        })
        .collect()
}

#[test]
fn each_kind_breaks_the_plan_as_it_says() {
    let (p, req) = (plan(), request());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut bad = |k| corrupt(&p, &req, k, &mut rng).expect("a place for it");
    let t = texts(&bad(PlannerError::InvalidCall));
    assert_eq!(
        t.iter().filter(|c| c.starts_with("invalid")).count(),
        1,
        "{t:?}"
    );
    let t = texts(&bad(PlannerError::HallucinatedObject));
    assert!(t.iter().any(|c| c.contains("apple_2")), "{t:?}");
    let t = texts(&bad(PlannerError::SkippedOpen));
    assert_eq!(
        t,
        [
            "go_to(robot_1, in_front_of_refrigerator)",
            "pick_from(robot_1, apple, refrigerator)"
        ]
    );
    let t = texts(&bad(PlannerError::WrongRobot));
    assert!(t.iter().any(|c| c.contains("robot_2")), "{t:?}");
    let t = texts(&bad(PlannerError::StaleLocation));
    assert_eq!(t[2], "pick_from(robot_1, apple, table)");
    let done = bad(PlannerError::PrematureDone);
    assert!(done.done && done.actions.is_empty());
    assert!(done.reasoning.contains("premature_done"));
}

#[test]
fn a_kind_without_a_place_in_the_plan_is_not_forced() {
    let req = request();
    let mut p = plan();
    p.actions.truncate(1); // go_to only: nothing opened, nothing picked
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for k in [PlannerError::SkippedOpen, PlannerError::StaleLocation] {
        assert_eq!(corrupt(&p, &req, k, &mut rng), None, "{k:?}");
    }
    let mut done = plan();
    done.actions.clear();
    done.done = true;
    for k in PlannerError::ALL {
        assert_eq!(corrupt(&done, &req, k, &mut rng), None, "{k:?}");
    }
}

/// A planner that always answers the same plan.
struct Fixed(Plan);

#[async_trait::async_trait]
impl Planner for Fixed {
    async fn plan(&mut self, _req: &PlanRequest) -> Result<Plan, clea_agent::modules::ModuleError> {
        Ok(self.0.clone())
    }
}

async fn plans(rate: f64, seed: u64, n: usize) -> Vec<Plan> {
    let mut p = ErrorPlanner::new(Fixed(plan()), ErrorModel { rate, seed });
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(p.plan(&request()).await.unwrap());
    }
    out
}

#[tokio::test]
async fn errors_come_at_the_rate_and_again_with_the_seed() {
    assert!(plans(0.0, 3, 20).await.iter().all(|p| *p == plan()));
    assert!(plans(1.0, 3, 20).await.iter().all(|p| *p != plan()));
    let some = plans(0.3, 3, 200).await;
    let wrong = some.iter().filter(|p| **p != plan()).count();
    assert!((30..=90).contains(&wrong), "{wrong} of 200 at 0.3");
    assert_eq!(some, plans(0.3, 3, 200).await);
    assert_ne!(some, plans(0.3, 4, 200).await);
}
