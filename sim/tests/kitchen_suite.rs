//! The CLEA kitchen suite (`sim/scenarios/clea-kitchen/`): the paper's 12 tasks plus perturbed
//! variants (CLEA-KITCHEN.md).
//!
//! - The suite loads and has the expected shape: 12 unperturbed tasks `task-01`..`task-12` with
//!   reference plans, every task group among the perturbed variants, unique names, variants that
//!   keep their base task's plan.
//! - Every unperturbed reference plan solves its task on [`SimWorld`]: each skill succeeds, and
//!   the goals hold (for `found(x)`, with the locations an observer of the robots' observations
//!   would believe).
//! - Every perturbed variant does what its description says to the reference plan ("the
//!   reference plan breaks" or "still works"), and stays solvable within its step budget by an
//!   agent that notices the failure, searches the kitchen and replans.

use clea_bus::msg::EpisodeEnd;
use clea_sim::scenario::{load_path, Scenario, TaskGroup, Trigger};
use clea_sim::world::SimWorld;
use clea_skills::{parse_call, validate, Action, Check, Goal, WorldState};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;

fn suite() -> Vec<Scenario> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/clea-kitchen");
    load_path(&dir).unwrap_or_else(|e| panic!("{e}"))
}

/// `task-NN` of a scenario name.
fn task_id(name: &str) -> &str {
    assert!(
        name.len() > 8 && name.starts_with("task-") && name.as_bytes()[7] == b'-',
        "{name}: names start with task-NN-"
    );
    &name[..7]
}

fn expected_group(id: &str) -> TaskGroup {
    match id {
        "task-01" | "task-02" | "task-03" => TaskGroup::Search,
        "task-04" | "task-05" | "task-06" => TaskGroup::Operate,
        "task-07" | "task-08" | "task-09" => TaskGroup::SearchOperateOne,
        "task-10" | "task-11" | "task-12" => TaskGroup::SearchOperateTwo,
        other => panic!("unexpected task id {other}"),
    }
}

/// What the description claims about the open-loop reference plan: `true` = it breaks.
fn claims_break(s: &Scenario) -> bool {
    let d = s.description.to_lowercase();
    let breaks = d.contains("reference plan breaks");
    let works = d.contains("reference plan still works");
    assert!(
        breaks != works,
        "{}: the description must say either \"the reference plan breaks\" or \"the reference plan still works\"",
        s.name
    );
    breaks
}

#[test]
fn suite_has_twelve_tasks_and_perturbed_variants_of_every_group() {
    let all = suite();
    let names: HashSet<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), all.len(), "scenario names are unique");

    let base: Vec<&Scenario> = all.iter().filter(|s| !s.is_perturbed()).collect();
    let ids: Vec<&str> = base.iter().map(|s| task_id(&s.name)).collect();
    let want: Vec<String> = (1..=12).map(|i| format!("task-{i:02}")).collect();
    assert_eq!(
        ids, want,
        "one unperturbed scenario per paper task, in order"
    );

    for s in &base {
        let id = task_id(&s.name);
        assert_eq!(s.group, Some(expected_group(id)), "{}: group", s.name);
        let plan = s
            .reference_plan
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no reference plan", s.name));
        assert!(!plan.is_empty(), "{}: empty reference plan", s.name);
        assert!(
            plan.len() as u32 <= s.budgets.max_steps,
            "{}: plan over budget",
            s.name
        );
        let search = s.group == Some(TaskGroup::Search);
        for g in &s.goals {
            assert_eq!(
                matches!(g, Goal::Found { .. }),
                search,
                "{}: search tasks have found() goals only, the others none",
                s.name
            );
        }
        assert!(!s.instruction.trim().is_empty(), "{}: instruction", s.name);
        assert_eq!(
            s.file
                .parent()
                .map(|p| p.join("../../worlds/clea-kitchen.yaml").exists()),
            Some(true)
        );
    }

    let perturbed: Vec<&Scenario> = all.iter().filter(|s| s.is_perturbed()).collect();
    assert!(perturbed.len() >= 6, "at least six perturbed variants");
    for g in [
        TaskGroup::Search,
        TaskGroup::Operate,
        TaskGroup::SearchOperateOne,
        TaskGroup::SearchOperateTwo,
    ] {
        assert!(
            perturbed.iter().any(|s| s.group == Some(g)),
            "no perturbed variant of group {g:?}"
        );
    }
    let mut breaking = 0;
    for s in &perturbed {
        let id = task_id(&s.name);
        assert!(
            s.name[8..].starts_with('p'),
            "{}: variants are named task-NN-pK-...",
            s.name
        );
        let b = base
            .iter()
            .find(|b| task_id(&b.name) == id)
            .unwrap_or_else(|| panic!("{}: no base task", s.name));
        assert_eq!(s.group, b.group, "{}: group of its base task", s.name);
        assert_eq!(s.goals, b.goals, "{}: goals of its base task", s.name);
        assert_eq!(
            s.reference_plan, b.reference_plan,
            "{}: plan of its base task",
            s.name
        );
        assert_eq!(s.world, b.world, "{}: world of its base task", s.name);
        assert!(!s.perturbations.is_empty(), "{}: perturbations", s.name);
        if claims_break(s) {
            breaking += 1;
        }
    }
    assert!(
        breaking * 2 > perturbed.len(),
        "most variants break the reference plan"
    );
    let triggers = || {
        perturbed
            .iter()
            .flat_map(|s| s.perturbations.iter().map(|p| &p.trigger))
    };
    assert!(
        triggers().any(|t| matches!(t, Trigger::AtStep(_))),
        "an at_step trigger"
    );
    assert!(
        triggers().any(|t| matches!(t, Trigger::When(_))),
        "a when trigger"
    );
}

/// What an observer of the robots' observations believes: object → receptacle or robot.
#[derive(Debug, Default)]
struct Belief(BTreeMap<String, String>);

impl Belief {
    fn update(&mut self, world: &SimWorld) {
        for obs in world.observe_all() {
            let robot = obs.robot.clone();
            self.0
                .retain(|o, at| *at != robot || obs.holding.contains(o));
            for o in &obs.holding {
                self.0.insert(o.clone(), robot.clone());
            }
            for v in obs.in_view.iter().filter(|v| v.contents_visible) {
                let seen: BTreeSet<&str> = v.objects.iter().map(|o| o.object.as_str()).collect();
                self.0
                    .retain(|o, at| *at != v.receptacle || seen.contains(o.as_str()));
                for o in &v.objects {
                    self.0.insert(o.object.clone(), v.receptacle.clone());
                }
            }
        }
    }

    fn end(&self) -> EpisodeEnd {
        EpisodeEnd {
            declared_done: true,
            reason: "done".into(),
            believed_locations: self.0.clone(),
            invalid_calls: 0,
        }
    }
}

struct Run {
    world: SimWorld,
    belief: Belief,
    log: Vec<String>,
}

impl Run {
    fn new(s: &Scenario) -> Self {
        let world = SimWorld::new(s, s.seed);
        let mut belief = Belief::default();
        belief.update(&world);
        Run {
            world,
            belief,
            log: Vec::new(),
        }
    }

    fn exec(&mut self, a: &Action) -> bool {
        let out = self.world.execute(a);
        self.belief.update(&self.world);
        self.log.push(format!("{} {a}: {out}", self.world.step()));
        out.is_success()
    }

    fn success(&self) -> bool {
        self.world.score(&self.belief.end()).success
    }

    fn trace(&self) -> String {
        self.log.join("\n")
    }
}

fn act(text: &str, s: &Scenario) -> Action {
    validate(&parse_call(text).expect(text), &s.world).expect(text)
}

#[test]
fn reference_plans_solve_the_unperturbed_tasks() {
    for s in suite().iter().filter(|s| !s.is_perturbed()) {
        let mut run = Run::new(s);
        for a in s.reference_plan.as_ref().unwrap() {
            assert!(run.exec(a), "{}: step failed\n{}", s.name, run.trace());
        }
        assert!(run.world.step() <= s.budgets.max_steps);
        if s.group == Some(TaskGroup::Search) {
            // Every target was seen where it is: a done declaration with that belief scores.
            let score = run.world.score(&run.belief.end());
            assert!(
                score.success,
                "{}: {:?}\n{}",
                s.name,
                score.goals_unmet,
                run.trace()
            );
        } else {
            let score = run.world.score(&EpisodeEnd::default());
            assert!(
                score.success,
                "{}: {:?}\n{}",
                s.name,
                score.goals_unmet,
                run.trace()
            );
            assert_eq!(score.skill_failures, 0);
        }
    }
}

/// Look everywhere: robot_2 opens its closed containers, robot_1 visits every navigation point
/// and opens the closed containers there. Failed skills are retried once.
fn sweep(run: &mut Run, s: &Scenario) {
    let w = &s.world;
    let closed_in_view = |run: &Run, robot: &str| -> Vec<String> {
        run.world
            .observe(robot)
            .in_view
            .iter()
            .filter(|v| v.open == Some(false))
            .map(|v| v.receptacle.clone())
            .collect()
    };
    let try_twice = |run: &mut Run, a: Action| {
        if !run.exec(&a) {
            run.exec(&a);
        }
    };
    for r in w.robots.iter().filter(|r| !r.mobile) {
        for x in closed_in_view(run, &r.name) {
            try_twice(run, act(&format!("open({}, {x})", r.name), s));
        }
    }
    for r in w.robots.iter().filter(|r| r.mobile) {
        for p in &w.navigation_points {
            if run.world.state().robot_place.get(&r.name) != Some(p) {
                try_twice(run, act(&format!("go_to({}, {p})", r.name), s));
            }
            for x in closed_in_view(run, &r.name) {
                try_twice(run, act(&format!("open({}, {x})", r.name), s));
            }
        }
    }
}

/// Shortest action sequence from the true state to one where every non-`found` goal holds,
/// moving only goal objects.
fn shortest_plan(run: &Run, s: &Scenario) -> Vec<Action> {
    let w = &s.world;
    let goals: Vec<&Goal> = s
        .goals
        .iter()
        .filter(|g| !matches!(g, Goal::Found { .. }))
        .collect();
    let objects: BTreeSet<&str> = goals.iter().map(|g| g.object()).collect();
    let mut calls = Vec::new();
    for r in &w.robots {
        if r.mobile {
            for p in &w.navigation_points {
                calls.push(format!("go_to({}, {p})", r.name));
            }
        }
        for x in &w.receptacles {
            if x.openable {
                calls.push(format!("open({}, {})", r.name, x.name));
                calls.push(format!("close({}, {})", r.name, x.name));
            }
            for o in &objects {
                calls.push(format!("pick_from({}, {o}, {})", r.name, x.name));
                calls.push(format!("release_to({}, {o}, {})", r.name, x.name));
            }
        }
    }
    let actions: Vec<Action> = calls
        .iter()
        .filter_map(|c| validate(&parse_call(c).ok()?, w).ok())
        .collect();
    let empty = BTreeMap::new();
    let done = |st: &WorldState| goals.iter().all(|g| g.holds(st, &empty) == Some(true));

    let start = run.world.state().clone();
    // Nodes: (state, parent index, action from parent).
    let mut nodes: Vec<(WorldState, usize, Option<usize>)> = vec![(start.clone(), 0, None)];
    let mut seen: HashSet<WorldState> = HashSet::from([start]);
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if done(&nodes[i].0) {
            let mut plan = Vec::new();
            let mut j = i;
            while let Some(a) = nodes[j].2 {
                plan.push(actions[a].clone());
                j = nodes[j].1;
            }
            plan.reverse();
            return plan;
        }
        for (k, a) in actions.iter().enumerate() {
            if nodes[i].0.check(w, a) != Check::Holds {
                continue;
            }
            let mut next = nodes[i].0.clone();
            next.apply(a);
            next.settle(w);
            if seen.insert(next.clone()) {
                nodes.push((next, i, Some(k)));
                queue.push_back(nodes.len() - 1);
            }
        }
    }
    panic!(
        "{}: no plan reaches the goals from here\n{}",
        s.name,
        run.trace()
    );
}

#[test]
fn perturbed_variants_do_what_they_say_and_stay_solvable() {
    for s in suite().iter().filter(|s| s.is_perturbed()) {
        // Open loop: run the reference plan, stopping at the first failure as a closed-loop
        // agent would notice it there.
        let mut run = Run::new(s);
        let mut failed = false;
        for a in s.reference_plan.as_ref().unwrap() {
            if !run.exec(a) {
                failed = true;
                break;
            }
        }
        let broke = failed || !run.success();
        assert_eq!(
            broke,
            claims_break(s),
            "{}: the description says the reference plan {}, but it {}\n{}",
            s.name,
            if claims_break(s) {
                "breaks"
            } else {
                "still works"
            },
            if broke { "breaks" } else { "still works" },
            run.trace()
        );
        if !broke {
            continue;
        }
        // Closed loop: search the kitchen, then plan from what was observed; replan on failure.
        sweep(&mut run, s);
        for g in &s.goals {
            let o = g.object();
            let truth = run.world.state().location.get(o).map(|l| l.to_string());
            assert_eq!(
                run.belief.0.get(o),
                truth.as_ref(),
                "{}: after searching, {o} is believed where it is\n{}",
                s.name,
                run.trace()
            );
        }
        for _ in 0..5 {
            if run.success() {
                break;
            }
            for a in shortest_plan(&run, s) {
                if !run.exec(&a) {
                    break;
                }
            }
        }
        assert!(
            run.success(),
            "{}: not solved after replanning\n{}",
            s.name,
            run.trace()
        );
        assert!(
            run.world.step() <= s.budgets.max_steps,
            "{}: recovery took {} steps, budget {}\n{}",
            s.name,
            run.world.step(),
            s.budgets.max_steps,
            run.trace()
        );
    }
}
