"""EAI's own scorer on the outputs of the 15 language models that `virtualhome-eval` ships.

    .venv/bin/python sim/eai/bundled.py [--ids 27_2,11_1,...]

Runs EAI's `evaluate_results` (evaluation/action_sequence/scripts/evaluate_results.py)
unchanged, on their bundled `llm_response/action_sequence/<model>_outputs.json`, and prints, for the given instances (default: all), one JSON row per model on stdout:
`{"model", "scored", "success", "executable", "errors"}`, with their denominator (instances whose
gold plan passes their scorer). Their verdicts per instance are
cached under `target/eai-bundled/` (their scorer takes minutes for all models).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import os.path as osp
import sys
import tempfile
from types import SimpleNamespace

import virtualhome_eval
from virtualhome_eval.evaluation.action_sequence.scripts.evaluate_results import evaluate_results

ROOT = osp.dirname(virtualhome_eval.__file__)
CACHE = osp.join(osp.dirname(osp.abspath(__file__)), "..", "..", "target", "eai-bundled")

# EAI's display names of the bundled files (their paper's table).
ERROR_KEYS = {
    "wrong_order": "wrong_temporal_order",
    "missing_step": "missing_step",
    "affordance_error": "affordance_error",
    "additional_step": "additional_step",
}


class Verdicts(logging.Handler):
    """Reads each instance's verdict from EAI's own log lines as `evaluate_results` emits them
    (their function returns only aggregate rates): `Task is ..., file_id is X` opens an instance,
    `did not pass gold test` takes it out of the denominator, `Executable!` and
    `EVERYTHING SUCCEED!` are their execution and task success, `Encounter error: T` their first
    error type."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.model = None
        self.current = None
        self.per_model: dict = {}

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("Model name is "):
            self.model = msg[len("Model name is "):]
            self.per_model[self.model] = {}
        elif msg.startswith("Task is ") and ", file_id is " in msg:
            self.current = msg.rsplit(", file_id is ", 1)[1].strip()
            self.per_model[self.model][self.current] = {"scored": True, "success": False, "executable": False, "error": None}
        elif self.current is not None and self.model is not None:
            rec = self.per_model[self.model][self.current]
            if "did not pass gold test" in msg:
                rec["scored"] = False
            elif msg == "Executable!":
                rec["executable"] = True
            elif msg == "EVERYTHING SUCCEED!":
                rec["success"] = True
            elif msg.startswith("Encounter error: ") and rec["error"] is None:
                rec["error"] = msg[len("Encounter error: "):].lower()


def per_instance() -> dict:
    """model -> file_id -> verdict, from EAI's scorer on all bundled outputs (cached)."""
    cached = osp.join(CACHE, f"verdicts-{virtualhome_eval_version()}.json")
    if osp.exists(cached):
        with open(cached) as f:
            return json.load(f)
    handler = Verdicts()
    root = logging.getLogger("virtualhome_eval")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    root.propagate = False
    with tempfile.TemporaryDirectory() as tmp:
        ns = SimpleNamespace(
            dataset="virtualhome",
            llm_response_path=osp.join(ROOT, "llm_response"),
            resource_dir=osp.join(ROOT, "resources"),
            dataset_dir=osp.join(ROOT, "dataset"),
            output_dir=osp.join(tmp, "out"),
        )
        evaluate_results(ns)
    os.makedirs(CACHE, exist_ok=True)
    with open(cached, "w") as f:
        json.dump(handler.per_model, f)
    return handler.per_model


def virtualhome_eval_version() -> str:
    from importlib.metadata import version

    return version("virtualhome-eval")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ids", default="", help="comma-separated EAI instance ids (default: all)")
    args = ap.parse_args(argv)
    ids = set(i for i in args.ids.split(",") if i)
    rows = []
    for model, verdicts in sorted(per_instance().items()):
        chosen = [v for k, v in verdicts.items() if v["scored"] and (not ids or k in ids)]
        errors: dict = {}
        for v in chosen:
            if v["error"] and not v["executable"]:
                errors[v["error"]] = errors.get(v["error"], 0) + 1
        rows.append({
            "model": model,
            "scored": len(chosen),
            "success": sum(v["success"] for v in chosen),
            "executable": sum(v["executable"] for v in chosen),
            "errors": errors,
        })
    json.dump(rows, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
