#!/usr/bin/env python3
"""Check plans of `clea plan` against tools this project did not write; print one JSON object.

    check_plans.py CASES.json

CASES.json is a list of {"domain", "problem", "plan"} (plan: a file in the IPC format, or null
when `clea plan` found none). For each case this runs
  - PyVAL (PyPI `pddl-pyvalidator`, on unified-planning) on the plan, when there is one, and
  - Fast Downward `lama-first` (PyPI `up-fast-downward`'s binary) on the same domain and problem,
and prints {"cases": [{"problem", "valid", "validator_error", "fd", "fd_plan_length"}]}
(`fd`: "solved", "unsolvable", or "error CODE: ...")..
`valid` is null when PyVAL cannot read the domain (e.g. derived predicates, which
unified-planning does not support); then Fast Downward's own solution is the reference.
Used by tests/tests/pddl_outside.rs (run with $CLEA_PYTHON).
"""
import json
import warnings
import os
import subprocess
import sys
import tempfile


def fast_downward(domain, problem):
    import up_fast_downward

    driver = os.path.join(os.path.dirname(up_fast_downward.__file__), "downward", "fast-downward.py")
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = os.path.join(tmp, "plan")
        r = subprocess.run(
            [sys.executable, driver, "--plan-file", plan_file, "--alias", "lama-first", domain, problem],
            cwd=tmp, capture_output=True, text=True, timeout=300,
        )
        if os.path.exists(plan_file):
            steps = [l for l in open(plan_file) if l.startswith("(")]
            return "solved", len(steps)
        # Fast Downward's exit codes 10 and 11: proved unsolvable (translator, search).
        if r.returncode in (10, 11):
            return "unsolvable", None
        return f"error {r.returncode}: {r.stdout[-300:]}", None


def main():
    from pyval import PDDLValidator
    from unified_planning.environment import get_environment

    # PDDL keeps types, objects, predicates and actions in separate namespaces (VirtualHome has a
    # type and an object `character`, a predicate and an action `open`); unified-planning only
    # allows that with this flag off.
    get_environment().error_used_name = False
    warnings.filterwarnings("ignore")

    cases = json.load(open(sys.argv[1]))
    validator = PDDLValidator()
    out = []
    for c in cases:
        row = {"problem": c["problem"], "valid": None, "validator_error": None}
        if c.get("plan"):
            try:
                res = validator.validate(c["domain"], c["problem"], c["plan"])
                if res.status == "SYNTAX_ERROR":
                    row["validator_error"] = str(res.phases.get("syntax"))[:3000]
                else:
                    row["valid"] = bool(res.is_valid)
                    if not res.is_valid:
                        row["validator_error"] = f"{res.status} at step {res.failed_step}"
            except Exception as e:  # a validator crash is reported, not hidden
                row["validator_error"] = f"{type(e).__name__}: {e}"[:3000]
        row["fd"], row["fd_plan_length"] = fast_downward(os.path.abspath(c["domain"]), os.path.abspath(c["problem"]))
        out.append(row)
    print(json.dumps({"cases": out}))


if __name__ == "__main__":
    main()
