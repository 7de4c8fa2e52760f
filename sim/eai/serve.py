"""EAI's VirtualHome simulator as a robot on the runtime's bus (zenoh, JSON messages).

    .venv/bin/python sim/eai/serve.py --listen tcp/127.0.0.1:7460 --namespace eai

Serves, under `clea/<ns>/` (the key layout of the Rust crate `clea-bus`, `bus/src/keys.rs` and
`bus/src/task.rs`):
- `sim/task/list` ({} -> TaskList): EAI's instance ids of scene 1;
- `sim/task/start` (TaskRequest -> TaskStart): loads one instance in EAI's simulator and replies
  with its PDDL problem (EAI's goals in place of the file's goal), instruction and required
  actions;
- `robot/character/skill/<action>/{goal,cancel}` for every action of `virtualhome.pddl`, with a
  liveliness token at `.../server` and the result published at `.../result`, as the skill
  action protocol (`bus/src/action.rs`) expects: each goal is one script line executed by EAI's
  simulator; a failed one ends `failed` with EAI's error type and message;
- `robot/character/facts` (FactsRequest -> FactObservation): what the character perceives;
- `sim/task/end` (TaskEnd -> TaskVerdict): EAI's `scene_evaluate_wID` on the episode.

Prints `ready` on stdout once everything is declared. Bad requests are answered with an error
reply naming the field and the reason; nothing a request says is evaluated as code.
"""

from __future__ import annotations

import argparse
import json
import logging
import os.path as osp
import re
import sys
import threading

import zenoh

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import vh_task  # noqa: E402

ROBOT = "character"


def domain_params(path: str) -> dict[str, list[str]]:
    """Parameter names of every action of the PDDL domain at `path`, in order (without `?`)."""
    with open(path) as f:
        text = re.sub(r";.*", "", f.read())
    out = {}
    for m in re.finditer(r"\(:action\s+([\w-]+)\s*:parameters\s*\(([^)]*)\)", text):
        out[m.group(1)] = re.findall(r"\?([\w-]+)", m.group(2))
    return out


class Server:
    def __init__(self, session, ns: str, as_shipped: bool = False):
        self.s = session
        self.ns = ns
        self.task: vh_task.VhTask | None = None
        self.partial = False
        self.params = domain_params(osp.join(vh_task.RESOURCES, "virtualhome.pddl"))
        self.lock = threading.Lock()
        self.domain_text = vh_task.domain_text(as_shipped)
        self.keep = []

    def key(self, rest: str) -> str:
        return f"clea/{self.ns}/{rest}"

    def declare(self):
        q = self.s.declare_queryable
        self.keep.append(q(self.key("sim/task/list"), self._guard(lambda _: {"tasks": vh_task.instance_ids()})))
        self.keep.append(q(self.key("sim/task/start"), self._guard(self.on_start)))
        self.keep.append(q(self.key("sim/task/end"), self._guard(self.on_end)))
        self.keep.append(q(self.key(f"robot/{ROBOT}/facts"), self._guard(self.on_facts)))
        for action in self.params:
            base = f"robot/{ROBOT}/skill/{action}"
            self.keep.append(q(self.key(f"{base}/goal"), self._guard(self._goal(action))))
            self.keep.append(q(self.key(f"{base}/cancel"), self._guard(self.on_cancel)))
            self.keep.append(self.s.liveliness().declare_token(self.key(f"{base}/server")))

    def _guard(self, handler):
        def run(query):
            try:
                body = json.loads(bytes(query.payload.to_bytes()) if query.payload else b"{}")
                with self.lock:
                    reply = handler(body)
                query.reply(query.key_expr, json.dumps(reply))
            except (vh_task.TaskError, KeyError, ValueError, TypeError) as e:
                logging.warning("%s: %s", query.key_expr, e)
                query.reply_err(json.dumps(f"{query.key_expr}: {e}"))
        return run

    def on_start(self, req):
        task_id = str(req["task"])
        obs = req.get("observability", "full")
        if obs not in ("full", "partial"):
            raise ValueError(f"observability: {obs!r} is neither full nor partial")
        self.task = vh_task.VhTask(task_id)
        self.partial = obs == "partial"
        return {
            "task": task_id,
            "name": self.task.task_name,
            "instruction": self.task.instruction,
            "domain": self.domain_text,
            "scored": self.task.gold_passes(),
            "problem": self.task.problem_pddl(),
            "required_actions": self.task.required_actions(),
        }

    def _need_task(self) -> vh_task.VhTask:
        if self.task is None:
            raise ValueError("no task loaded: call sim/task/start first")
        return self.task

    def on_facts(self, req):
        t = self._need_task()
        if req.get("robot") != ROBOT:
            raise ValueError(f"robot: {req.get('robot')!r} is not {ROBOT!r}")
        facts = [{"atom": a, "value": v} for a, v in t.facts(self.partial)]
        return {"robot": ROBOT, "step": len(t.history) + len(t.errors), "facts": facts}

    def on_end(self, req):
        t = self._need_task()
        verdict = t.score()
        verdict["reason"] = str(req.get("reason", ""))
        return {"task": t.file_id, "success": verdict["success"], "details": verdict}

    def on_cancel(self, req):
        # Every action runs to completion inside its goal request: nothing is ever active.
        return {"goal_id": req["goal_id"], "accepted": False}

    def _goal(self, action):
        params = self.params[action]

        def on_goal(req):
            goal_id = req["goal_id"]
            call = req["call"]
            args = call.get("args", {})
            t = self.task
            if t is None:
                return {"goal_id": goal_id, "accepted": False, "reason": "no task loaded"}
            if args.get("robot") != ROBOT:
                return {"goal_id": goal_id, "accepted": False, "reason": f"robot: {args.get('robot')!r} is not {ROBOT!r}"}
            objects = []
            for p in params[1:]:
                if not isinstance(args.get(p), str):
                    return {"goal_id": goal_id, "accepted": False, "reason": f"{action}: missing argument {p!r}"}
                objects.append(args[p])
            try:
                res = t.execute(action, objects)
            except vh_task.TaskError as e:
                return {"goal_id": goal_id, "accepted": False, "reason": str(e)}
            if res.ok:
                outcome = {"status": "succeeded"}
            else:
                outcome = {"status": "failed", "reason": f"{res.error_type}: {res.reason}"}
            self.s.put(
                self.key(f"robot/{ROBOT}/skill/{action}/result"),
                json.dumps({"goal_id": goal_id, "outcome": outcome}),
            )
            return {"goal_id": goal_id, "accepted": True, "reason": ""}

        return on_goal


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", action="append", default=[], help="zenoh endpoint to listen on, e.g. tcp/127.0.0.1:7460")
    ap.add_argument("--connect", action="append", default=[], help="zenoh endpoint to connect to")
    ap.add_argument("--namespace", default="default", help="key namespace (clea/<ns>/...)")
    ap.add_argument("--domain-as-shipped", action="store_true", help="serve EAI's virtualhome.pddl without the corrections of vh_task.DOMAIN_CORRECTIONS")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="eai: %(message)s")
    # EAI's modules log every step at INFO; keep only warnings.
    logging.getLogger("virtualhome_eval").setLevel(logging.WARNING)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.namespace):
        print(f"--namespace: {args.namespace!r} is not one key chunk [A-Za-z0-9_-]", file=sys.stderr)
        return 2
    conf = zenoh.Config()
    conf.insert_json5("mode", '"peer"')
    conf.insert_json5("scouting/multicast/enabled", "false")
    conf.insert_json5("listen/endpoints", json.dumps(args.listen))
    conf.insert_json5("connect/endpoints", json.dumps(args.connect))
    try:
        session = zenoh.open(conf)
    except Exception as e:  # zenoh raises its own ZError
        print(f"zenoh: cannot open a session: {e}", file=sys.stderr)
        return 1
    server = Server(session, args.namespace, args.domain_as_shipped)
    server.declare()
    print("ready", flush=True)
    try:
        # Serve until stdin closes (the parent went away) or the process is stopped.
        for _ in sys.stdin:
            pass
    except KeyboardInterrupt:
        pass
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
