//! The `clea` binary as a user runs it: exit codes, the JSON report, the open-loop baseline.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn clea(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clea"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("clea runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn help_exists_for_every_command() {
    let commands = [
        "sim", "run", "replay", "rerun", "diff", "plan", "bench", "schema", "router",
    ];
    let helps = commands.iter().map(|c| vec![*c, "--help"]);
    for args in std::iter::once(vec!["--help"]).chain(helps) {
        let args = &args[..];
        let out = clea(args);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn reference_plans_solve_every_unperturbed_task_and_perturbations_break_them() {
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen",
        "--reference-plan",
        "--json",
    ]);
    let report = json(&out);
    let episodes = report["episodes"].as_array().unwrap();
    // Perturbed variants are named `task-NN-pK-...`.
    let is_perturbed = |name: &str| {
        name.split('-').any(|c| {
            c.len() == 2 && c.starts_with('p') && c[1..].chars().all(|d| d.is_ascii_digit())
        })
    };
    let base: Vec<&Value> = episodes
        .iter()
        .filter(|e| !is_perturbed(e["scenario"].as_str().unwrap()))
        .collect();
    assert_eq!(base.len(), 12);
    for e in &base {
        assert_eq!(e["success"], true, "{e}");
        assert_eq!(e["score"], 1.0);
    }
    let broken: Vec<&Value> = episodes
        .iter()
        .filter(|e| is_perturbed(e["scenario"].as_str().unwrap()) && e["success"] == false)
        .collect();
    assert!(
        broken.len() >= 6,
        "most perturbed variants break the open-loop plan"
    );
    for e in broken {
        let reason = e["reason"].as_str().unwrap();
        assert!(
            reason.contains("failed") || reason.contains("goals unmet"),
            "{e}"
        );
        assert!(e["perturbations"].as_u64().unwrap() >= 1);
    }
    let sr = report["summary"]["success_rate"].as_f64().unwrap();
    let ok = episodes.iter().filter(|e| e["success"] == true).count() as f64;
    assert!((sr - ok / episodes.len() as f64).abs() < 1e-9);
    assert!(report["summary"]["score"].as_f64().unwrap() > sr);
}

#[test]
fn a_plan_file_runs_open_loop_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "- go_to(robot_1, in_front_of_sink)\n- pick_from(robot_1, orange, table)\n",
    )
    .unwrap();
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-06-orange-to-sink-pills-to-trash.yaml",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    // Every line fits 100 columns (no terminal here); the reason wraps in its own table.
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    let reason: Vec<&str> = table
        .lines()
        .filter_map(|l| {
            l.rsplit_once('┆')
                .map(|(_, r)| r.trim_end_matches('│').trim())
        })
        .filter(|r| !r.is_empty())
        .collect();
    assert!(
        reason
            .join(" ")
            .contains("robot_1 cannot reach table from in_front_of_sink"),
        "{table}"
    );
    assert!(table.contains("success rate 0.000 (0/1)"), "{table}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: x\nfoo: 1\n").unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, "- go_to(robot_2, in_front_of_sink)\n").unwrap();
    let kitchen = "sim/scenarios/clea-kitchen/task-08-find-roast-apple.yaml";
    for (args, want) in [
        (
            vec!["sim", bad.to_str().unwrap(), "--reference-plan"],
            "unknown field `foo`",
        ),
        (
            vec!["sim", "/nonexistent.yaml", "--reference-plan"],
            "/nonexistent.yaml: file:",
        ),
        (
            vec!["sim", kitchen, "--plan", plan.to_str().unwrap()],
            "plan.yaml: [0]: go_to: robot_2 lacks a mobile base",
        ),
    ] {
        let out = clea(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("clea:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(want), "{err}");
    }
    for args in [
        vec!["sim", kitchen, "--skill-timeout", "1e308"],
        vec!["sim", kitchen, "--namespace", "a/b"],
    ] {
        let out = clea(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(args[2]), "{err}");
    }
    let out = clea(&["sim", kitchen, "--plan", "x", "--reference-plan"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2 too");
}

#[test]
fn seed_is_reported() {
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
        "--reference-plan",
        "--json",
        "--seed",
        "42",
    ]);
    assert_eq!(json(&out)["episodes"][0]["seed"], 42);
}

#[test]
fn bad_launch_files_exit_2_with_file_field_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("actors: [observer]\nextra: 1\n", "unknown field `extra`"),
        ("actors: [observer, dreamer]\n", "unknown variant `dreamer`"),
        ("actors: [observer, observer]\n", "actors[1]: observer listed twice"),
        ("bus: { connect: [\"nonsense\"] }\nactors: [observer]\n", "bus.connect[0]"),
        ("bus: { connect: [\"tcpx/127.0.0.1:99999\"] }\nactors: [observer]\n", "bus.connect[0]: \"tcpx/127.0.0.1:99999\" is not a zenoh endpoint"),
        ("bus: { namespace: \"a/b\" }\nactors: [observer]\n", "bus.namespace"),
        ("actors: [planner]\ncontroller: { episodes: 0 }\n", "controller.episodes: must be at least 1"),
        ("actors: [planner]\nagent: { skill_timeout_s: -1 }\n", "agent.skill_timeout_s"),
        ("actors: [planner]\nmodels: { modules: { planner: { backend: model } } }\n", "models.modules.planner.endpoint: a model backend needs an endpoint"),
        (
            "actors: [planner]\nmodels: { modules: { planner: { backend: model, endpoint: far } } }\n",
            "no endpoint named \"far\"",
        ),
        (
            "actors: [planner]\nmodels: { endpoints: { e: { base_url: \"ftp://x\", model: m } }, modules: { planner: { backend: model, endpoint: e } } }\n",
            "models.endpoints.e.base_url",
        ),
        ("actors: [planner]\nmodels: { modules: { memory: { backend: rules_then_model, endpoint: e } } }\n", "for the critic only"),
        (
            "actors: [planner]\nmodels: { endpoints: { e: { base_url: \"http://x\", model: m } }, modules: { planner: { backend: model, endpoint: e, images: true } } }\n",
            "models.modules.planner.images: images are for a model-backed critic",
        ),
        (
            "actors: [planner]\nagent: { module_timeout_s: 60 }\nmodels: { endpoints: { e: { base_url: \"http://x\", model: m, timeout_s: 30, max_retries: 2 } }, modules: { planner: { backend: model, endpoint: e } } }\n",
            "models.endpoints.e.timeout_s: 30 s × 3 attempts (max_retries 2) + the waits between them (backoff, or up to max_retry_after_s = 60 s) = 210 s, more than agent.module_timeout_s = 60 s",
        ),
        (
            "actors: [planner]\nmodels: { endpoints: { e: { base_url: \"http://x\", model: m, max_retry_after_s: -1 } }, modules: { planner: { backend: model, endpoint: e } } }\n",
            "models.endpoints.e.max_retry_after_s",
        ),
        (
            "actors: [planner]\nmodels: { endpoints: { e: { base_url: \"http://x\", model: m, max_retries: 4294967295 } }, modules: { planner: { backend: model, endpoint: e } } }\n",
            "models.endpoints.e.max_retries: must be at most 100",
        ),
        ("{}\n", "nothing to run"),
        ("actors: [planner]\ncontroller: { critic: maybe }\n", "controller.critic: invalid value: string \"maybe\", expected on or off"),
        ("actors: [planner]\nagent: { limits: { max_plans: 0 } }\n", "agent.limits.max_plans: must be at least 1"),
        // A file says what it is: a kind the loader does not read is refused, not guessed.
        ("kind: scenario\nactors: [planner]\n", "kind: unknown variant `scenario`, expected `launch`"),
        // `kind: robot` makes it a robot file, whose checks name what a robot file lacks.
        ("kind: robot\nactors: [planner]\n", "unknown field `actors`"),
        ("teams: [a, a]\nactors: [planner]\n", "teams[1]: a listed twice"),
        ("teams: []\nactors: [planner]\n", "teams: empty"),
        ("teams: [a, \"b/c\"]\nactors: [planner]\n", "teams[1]"),
        (
            "teams: [a]\nperception: { detector: { model: m.onnx, family: yolo }, cameras: [] }\n",
            "perception: a file with teams drives several robot teams",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("l{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        let out = clea(&["run", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("clea:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(&f.display().to_string()), "{err}");
        assert!(lines[0].contains(want), "{text}: {err}");
    }
}

/// The shipped fleet file checks and says which teams it drives; `--team` is for `--serve`.
#[test]
fn a_fleet_file_names_its_teams() {
    let out = clea(&["run", "--check", "launch/files/fleet-agent.yaml"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("on clea/kitchen-a/, clea/kitchen-b/, clea/kitchen-c/, clea/kitchen-d/")
            && said.contains("1 episode(s) per team"),
        "{said}"
    );
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml",
        "--team",
        "a",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--serve"));
}

#[test]
fn shipped_launch_files_check() {
    // sim-kitchen.yaml: everything checks; with no router on the other end, `clea run` waits
    // for it as long as for robots, then fails with exit 1 (not 2: the file is fine).
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("launch/files/sim-kitchen.yaml")).unwrap();
    let patched = text
        .replace("tcp/127.0.0.1:7447", "tcp/127.0.0.1:9")
        .replace("wait_for_robots_s: 10", "wait_for_robots_s: 0.5")
        .replace(
            "log_dir: logs",
            &format!("log_dir: {}", dir.path().join("logs").display()),
        );
    assert!(patched.contains("wait_for_robots_s: 0.5"));
    let copy = dir.path().join("l.yaml");
    std::fs::write(&copy, patched).unwrap();
    let out = clea(&["run", copy.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no router answered at tcp/127.0.0.1:9 within 0.5 s"),
        "{err}"
    );

    // llm-kitchen.yaml with its endpoint down: the episode ends cleanly with the reason.
    let text = std::fs::read_to_string(root().join("launch/files/llm-kitchen.yaml")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let patched = text
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace("max_retries: 2", "max_retries: 1");
    let copy = dir.path().join("llm.yaml");
    std::fs::write(&copy, patched).unwrap();
    let out = clea(&[
        "sim",
        "sim/scenarios/clea-kitchen/task-03-find-apple-medication.yaml",
        "--agent",
        copy.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &report["episodes"][0];
    assert_eq!(e["success"], false);
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.contains("endpoint unavailable after 2 attempts"),
        "{reason}"
    );
    assert!(reason.contains("connection refused"), "{reason}");
    assert_eq!(e["model_calls"], 2, "both attempts are counted");
}

/// The shipped robot launch file checks against the kitchen world; broken copies exit 2 with
/// the file, where and why on one line.
#[test]
fn robot_launch_files_check_with_clear_errors() {
    let shipped = root().join("launch/files/mobile-manipulator.yaml");
    let out = clea(&["run", "--check", shipped.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("robot robot_1"), "{stdout}");
    assert!(
        stdout.contains("skills [close, go_to, open, pick_from, release_to]"),
        "{stdout}"
    );
    assert!(stdout.contains("checked against its world"), "{stdout}");

    let text = std::fs::read_to_string(&shipped).unwrap();
    // Copies live elsewhere: point `world:` at the kitchen by absolute path.
    let world = root().join("sim/worlds/clea-kitchen.yaml");
    let text = text.replace(
        "world: ../../sim/worlds/clea-kitchen.yaml",
        &format!("world: {}", world.display()),
    );
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "nav2_msgs/action/NavigateToPose",
            "nav2_msgs/NavigateToPose",
            "unknown message type \"nav2_msgs/NavigateToPose\" for skill go_to",
        ),
        (
            "image_type: sensor_msgs/msg/Image ",
            "image_type: sensor_msgs/msg/Imagee ",
            "unknown message type \"sensor_msgs/msg/Imagee\" for camera head",
        ),
        (
            "    in_front_of_sink: ",
            "    # in_front_of_sink: ",
            "navigation point \"in_front_of_sink\" has no pose",
        ),
        (
            "    pick_from:   ",
            "    grab:   ",
            "skill \"grab\" is mapped, but it is not a skill of robot robot_1",
        ),
        (
            "name: robot_1  ",
            "name: robot_7  ",
            "robot \"robot_7\" is not a robot of the world",
        ),
        (
            "server_wait_s: 5",
            "server_wait: 5",
            "unknown field `server_wait`",
        ),
        (
            "/navigate_to_pose",
            "/navigate to pose",
            "skills.go_to.server",
        ),
        ("tcp/127.0.0.1:7447", "nonsense", "bus.connect[0]"),
        ("world: /", "world: /nonexistent/", "world: /nonexistent/"),
        // A YAML error in a robot file is reported as such (not as an actor launch file's).
        (
            "  odometry_topic: /odom ",
            "  odometry_topic: /odom\n  odometry_topic: /odom2 ",
            "robot: duplicate field `odometry_topic`",
        ),
        ("  estop:", "  estop: {", "did not find expected ',' or '}'"),
        (
            "  node_name: clea_robot_1",
            "  node_name: clea-robot-1",
            "node_name: \"clea-robot-1\" is not a valid ROS 2 name",
        ),
        (
            "  node_namespace: \"\"",
            "  node_namespace: \"ns\"",
            "node_namespace: \"ns\"",
        ),
        (
            "      timeout_s: 120",
            "      timeout_s: -5",
            "skills.go_to.timeout_s: -5 is not a time",
        ),
        (
            "\"$pose_stamped:navigation_point\"",
            "\"$pose_stamped:nav_point\"",
            "skills.go_to.goal: \"$pose_stamped:nav_point\" names no parameter of go_to(robot, navigation_point)",
        ),
        (
            "\"$arg:openable\"",
            "\"$args:openable\"",
            "skills.open.goal: \"$args:openable\" is not a placeholder",
        ),
        (
            "    in_front_of_oven: ",
            "    in_front_of_ovn: ",
            "poses.in_front_of_ovn: not a navigation point of the world",
        ),
    ];
    for (i, (from, to, want)) in cases.iter().enumerate() {
        assert!(
            text.contains(from),
            "the launch file no longer has {from:?}"
        );
        let f = dir.path().join(format!("robot{i}.yaml"));
        std::fs::write(&f, text.replacen(from, to, 1)).unwrap();
        for args in [&["run", "--check"][..], &["run"][..]] {
            let mut a = args.to_vec();
            a.push(f.to_str().unwrap());
            let out = clea(&a);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{to}: {err}");
            let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("clea:")).collect();
            assert_eq!(lines.len(), 1, "{err}");
            assert!(lines[0].contains(&f.display().to_string()), "{err}");
            assert!(lines[0].contains(want), "{to}: {err}");
        }
    }
}

/// Without the `ros2` feature, a robot launch file that checks is refused with how to build one
/// that bridges (exit 1: the file is fine).
#[cfg(not(feature = "ros2"))]
#[test]
fn a_build_without_ros2_says_how_to_get_one() {
    let shipped = root().join("launch/files/mobile-manipulator.yaml");
    let out = clea(&["run", shipped.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("built without ROS 2 support"), "{err}");
    assert!(err.contains("make build-ros2"), "{err}");
}

/// The workspace's `.venv` Python (with `jsonschema`), or `$CLEA_PYTHON`.
fn python() -> PathBuf {
    std::env::var_os("CLEA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// Check `files` (YAML) against the JSON Schema `schema` with Python's `jsonschema` (an
/// implementation nobody here wrote); returns (passed, what it printed).
fn check_with_jsonschema(schema: &std::path::Path, files: &[PathBuf]) -> (bool, String) {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
bad = 0
for f in sys.argv[2:]:
    for e in jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(f))):
        bad += 1
        print(f"{f}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if bad else 0)
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(schema)
        .args(files)
        .output()
        .expect("python runs (scripts/setup.sh makes .venv)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn shipped_files_name_their_schema_and_pass_it() {
    // The shipped schemas are what `clea schema` prints (from the loaders' Rust types).
    let kinds = [
        "launch",
        "robot",
        "scenario",
        "domain-scenario",
        "world",
        "binding",
    ];
    for kind in kinds {
        let out = clea(&["schema", kind]);
        assert!(out.status.success());
        let shipped = std::fs::read_to_string(root().join(format!("launch/schemas/{kind}.json")))
            .expect("a shipped schema");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            shipped,
            "launch/schemas/{kind}.json is stale: clea schema {kind} > launch/schemas/{kind}.json"
        );
    }
    // Every shipped file a user writes (launch and robot files, scenarios, worlds, bindings)
    // names its schema on its first line and passes it.
    let mut by_schema: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    let mut folders = vec![root().join("launch/files"), root().join("sim")];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let first = text.lines().next().unwrap_or_default();
                let schema = first
                    .strip_prefix("# yaml-language-server: $schema=")
                    .unwrap_or_else(|| panic!("{}: no $schema line first", path.display()));
                let schema = std::fs::canonicalize(dir.join(schema))
                    .unwrap_or_else(|e| panic!("{}: {schema}: {e}", path.display()));
                by_schema.entry(schema).or_default().push(path);
            }
        }
    }
    let used: Vec<String> = by_schema
        .keys()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut want: Vec<String> = kinds.map(String::from).to_vec();
    want.sort();
    assert_eq!(
        used, want,
        "every schema is used, and only the shipped ones"
    );
    for (schema, files) in &by_schema {
        let (ok, printed) = check_with_jsonschema(schema, files);
        assert!(ok, "{printed}");
    }
    // A scenario's schema rejects too: an unknown field, an unknown perturbation.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-scenario.yaml");
    let kitchen = root().join("sim/scenarios/clea-kitchen/task-01-find-tea-hamburger.yaml");
    let text = std::fs::read_to_string(kitchen).unwrap();
    std::fs::write(
        &bad,
        format!("{text}colour: blue\nperturbations:\n  - at_step: 1\n    do: {{ teleport: {{ robot: robot_1 }} }}\n"),
    )
    .unwrap();
    let (ok, printed) = check_with_jsonschema(&root().join("launch/schemas/scenario.json"), &[bad]);
    assert!(!ok, "{printed}");
    for field in ["Additional properties", "perturbations.0.do"] {
        assert!(printed.contains(field), "{field} not reported:\n{printed}");
    }
    // The schema does reject: an unknown field, a wrong type, an unknown actor.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "actors: [observer, navigator]\nagent: { history: many, skill_timeout: 3 }\n",
    )
    .unwrap();
    let (ok, printed) = check_with_jsonschema(&root().join("launch/schemas/launch.json"), &[bad]);
    assert!(!ok, "{printed}");
    for field in ["actors.1", "agent.history", "agent: Additional properties"] {
        assert!(printed.contains(field), "{field} not reported:\n{printed}");
    }
}
