//! Bad domains and problems: one line each with the line (or field) and the reason.

use clea_domain::{parse_domain, parse_problem, read_domain, ErrorKind};

const GOOD_DOMAIN: &str = "(define (domain d)
  (:requirements :typing)
  (:types robot thing)
  (:predicates (holding ?r - robot ?t - thing) (free ?r - robot))
  (:action pick
    :parameters (?r - robot ?t - thing)
    :precondition (free ?r)
    :effect (and (holding ?r ?t) (not (free ?r)))))";

fn domain_err(text: &str) -> (ErrorKind, String) {
    let e = parse_domain(text).expect_err("must not load");
    (e.kind, e.to_string())
}

#[test]
fn bad_domains_name_line_and_reason() {
    let cases: Vec<(String, ErrorKind, &str)> = vec![
        (
            GOOD_DOMAIN.replace("(and (holding ?r ?t)", "(and (holdin ?r ?t)"),
            ErrorKind::Undeclared,
            "line 5: action pick: effect: unknown predicate holdin",
        ),
        (
            GOOD_DOMAIN.replace(":precondition (free ?r)", ":precondition (free ?r ?t)"),
            ErrorKind::Arity,
            "line 5: action pick: precondition: free takes 1 arguments, got 2",
        ),
        (
            GOOD_DOMAIN.replace("(?r - robot ?t - thing)\n", "(?r - robot ?t - gadget)\n"),
            ErrorKind::Undeclared,
            "line 5: action pick: undeclared type gadget",
        ),
        (
            GOOD_DOMAIN.replace(":precondition (free ?r)", ":precondition (free ?x)"),
            ErrorKind::Undeclared,
            "action pick: precondition: undeclared variable ?x",
        ),
        (
            GOOD_DOMAIN.replace("(not (free ?r)))))", "(not (free ?r))))"),
            ErrorKind::Syntax,
            "not a PDDL domain",
        ),
        (
            GOOD_DOMAIN.replace(
                "(:action pick",
                "(:action pick :parameters () :effect (and))\n  (:action pick",
            ),
            ErrorKind::Duplicate,
            "action pick: declared twice",
        ),
        (
            GOOD_DOMAIN.replace(
                "(:action pick",
                "(:derived (free ?r - robot) (not (free ?r)))\n  (:action pick",
            ),
            ErrorKind::Type,
            "free is a derived predicate: an action cannot set it",
        ),
        (
            GOOD_DOMAIN.replace(
                "(:predicates (holding ?r - robot ?t - thing) (free ?r - robot))",
                "(:predicates (holding ?r - robot ?t - thing) (free ?r - robot) (busy ?r - robot) (idle ?r - robot))",
            )
            .replace(
                "(:action pick",
                "(:derived (busy ?r - robot) (not (idle ?r)))\n  (:derived (idle ?r - robot) (not (busy ?r)))\n  (:action pick",
            ),
            ErrorKind::NotStratifiable,
            "not stratifiable",
        ),
        (
            GOOD_DOMAIN.replace(":precondition (free ?r)", ":precondition (> (battery ?r) 3)"),
            ErrorKind::Unsupported,
            "not supported",
        ),
    ];
    for (text, kind, want) in cases {
        let (got_kind, msg) = domain_err(&text);
        assert_eq!(got_kind, kind, "{msg}");
        assert!(msg.contains(want), "{msg:?} lacks {want:?}");
        assert!(!msg.contains('\n'), "one line: {msg:?}");
    }
}

#[test]
fn bad_problems_name_line_and_reason() {
    let domain = parse_domain(GOOD_DOMAIN).expect("good domain");
    let good = "(define (problem p) (:domain d)
  (:objects r1 - robot cup - thing)
  (:init (free r1))
  (:goal (holding r1 cup)))";
    parse_problem(&domain, good).expect("good problem");
    let cases = [
        (
            good.replace("(:goal (holding r1 cup))", "(:goal (clean cup))"),
            ErrorKind::Undeclared,
            "line 4: goal: unknown predicate clean",
        ),
        (
            good.replace("(:init (free r1))", "(:init (free r2))"),
            ErrorKind::Undeclared,
            "line 3: :init: unknown object r2",
        ),
        (
            good.replace("(:init (free r1))", "(:init (free r1 cup))"),
            ErrorKind::Arity,
            "line 3: :init: free takes 1 arguments, got 2",
        ),
        (
            good.replace("cup - thing", "cup - gadget"),
            ErrorKind::Undeclared,
            "line 2: :objects: undeclared type gadget",
        ),
        (
            good.replace("(:domain d)", "(:domain kitchen)"),
            ErrorKind::Undeclared,
            "the problem is for domain kitchen",
        ),
        (
            good.replace("(holding r1 cup)))", "(holding r1 cup))"),
            ErrorKind::Syntax,
            "not a PDDL problem",
        ),
    ];
    for (text, kind, want) in cases {
        let e = parse_problem(&domain, &text).expect_err("must not load");
        let msg = e.to_string();
        assert_eq!(e.kind, kind, "{msg}");
        assert!(msg.contains(want), "{msg:?} lacks {want:?}");
    }
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("domain.pddl");
    std::fs::write(&f, GOOD_DOMAIN.replace("(holding ?r ?t)", "(holdin ?r ?t)")).expect("write");
    let msg = read_domain(&f).expect_err("bad").to_string();
    assert!(
        msg.starts_with(&format!("{}:5: action pick: effect:", f.display())),
        "{msg}"
    );
    let missing = read_domain(&dir.path().join("none.pddl")).expect_err("missing");
    assert_eq!(missing.kind, ErrorKind::Io);
}
