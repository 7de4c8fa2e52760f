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

#[test]
fn inputs_that_would_crash_the_parser_are_refused_and_odd_but_valid_text_is_read() {
    let deep = format!(
        "(define (domain d) (:predicates (p))\n (:action a :parameters () :precondition {}(p){} :effect (p)))",
        "(not ".repeat(5000),
        ")".repeat(5000)
    );
    assert!(domain_err(&deep)
        .1
        .contains("line 2: parentheses nested deeper than 500"));
    let params: String = (0..100).map(|i| format!(" ?x{i}")).collect();
    let wide = format!("(define (domain d) (:predicates (p{params})))");
    assert!(domain_err(&wide)
        .1
        .contains("predicate p: 100 parameters (at most 64)"));
    let huge = GOOD_DOMAIN.replace(
        ":effect (and (holding ?r ?t)",
        ":effect (and (increase (total-cost) 1000000000000000000000000000000000000000) (holding ?r ?t)",
    );
    assert!(domain_err(&huge)
        .1
        .contains("a number with more than 30 digits"));
    // Blanks before ')', CR line ends, adjacent lists: valid PDDL the parser needs help with.
    let odd = GOOD_DOMAIN
        .replace("(free ?r - robot))", "(free ?r - robot )  )")
        .replace('\n', "\r");
    parse_domain(&odd).expect("blanks before ')' and CR line ends");
    // The line of an action whose name prefixes another's.
    let two = GOOD_DOMAIN.replace(
        "  (:action pick\n",
        "  (:action pick_all :parameters () :effect (and))\n  (:action pick\n",
    );
    let e = parse_domain(&two.replace("(holding ?r ?t)", "(holdin ?r ?t)")).expect_err("bad");
    assert_eq!(e.line, Some(6), "{e}");
}

#[test]
fn an_object_declared_twice_with_two_types_is_refused() {
    let domain = parse_domain(GOOD_DOMAIN).expect("good domain");
    let e = parse_problem(
        &domain,
        "(define (problem p) (:domain d) (:objects a - robot a - thing) (:init) (:goal (free a)))",
    )
    .expect_err("duplicate");
    assert_eq!(e.kind, ErrorKind::Duplicate);
    assert!(
        e.to_string()
            .contains("object a declared twice, as robot and as thing"),
        "{e}"
    );
}
