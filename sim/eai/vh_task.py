"""One Embodied Agent Interface (EAI) VirtualHome action-sequencing instance, seen as a robot.

Everything here is EAI's own code and data (PyPI `virtualhome-eval`): the per-task evolving-graph
simulator (`construct_planner`), the goal specification (`task_state_LTL_formula_accurate.json`,
node goals, edge goals and action goals), the PDDL problem (`problem_pddl/<task>/<id>.pddl`) and
the scorer (`scene_evaluate_wID`). This module only translates between them and the runtime's
terms: a PDDL ground action of `virtualhome.pddl` becomes one script line
(`[PUTIN] <soap> (1002) <washing_machine> (1001)`), the graph becomes PDDL facts about the
problem's objects, and EAI's goals become PDDL goal literals plus the actions the task requires.

No zenoh here: `serve.py` puts it on the bus, and the tests drive it directly.
"""

from __future__ import annotations

import copy
import json
import logging
import os.path as osp
import re
from dataclasses import dataclass, field

import virtualhome_eval
from virtualhome_eval.simulation.evolving_graph import utils
from virtualhome_eval.simulation.evolving_graph.checker import TemporalOrderChecker
from virtualhome_eval.simulation.evolving_graph.eval_utils import (
    construct_planner,
    remove_duplicate_dicts,
    scene_evaluate_wID,
)

ROOT = osp.dirname(virtualhome_eval.__file__)
RESOURCES = osp.join(ROOT, "resources", "virtualhome")
DATASET = osp.join(ROOT, "dataset", "programs_processed_precond_nograb_morepreconds")
SCENE_ID = 1

# PDDL action of virtualhome.pddl -> (script action, number of object arguments after ?char).
# The PDDL `move` covers the script's PUSH/PULL/MOVE; EAI's action goals name PUSH.
SCRIPT_ACTION = {
    "walk_towards": "WALK",
    "walk_into": "WALK",
    "find": "FIND",
    "sit": "SIT",
    "standup": "STANDUP",
    "grab": "GRAB",
    "open": "OPEN",
    "close": "CLOSE",
    "put_on": "PUTBACK",
    "put_on_character": "PUTON",
    "put_inside": "PUTIN",
    "switch_on": "SWITCHON",
    "switch_off": "SWITCHOFF",
    "drink": "DRINK",
    "turn_to": "TURNTO",
    "look_at": "LOOKAT",
    "wipe": "WIPE",
    "drop": "DROP",
    "read": "READ",
    "touch": "TOUCH",
    "lie": "LIE",
    "pour": "POUR",
    "type": "TYPE",
    "watch": "WATCH",
    "move": "PUSH",
    "wash": "WASH",
    "squeeze": "SQUEEZE",
    "plug_in": "PLUGIN",
    "plug_out": "PLUGOUT",
    "cut": "CUT",
    "eat": "EAT",
    "sleep": "SLEEP",
    "wake_up": "WAKEUP",
}
# Script actions whose objects the script does not take (the PDDL names a second object only
# for the planner: wipe's surface, drop's room).
SCRIPT_ARGS = {"WIPE": 1, "DROP": 1, "SLEEP": 0, "WAKEUP": 0, "STANDUP": 0}
# EAI action goal (script action) -> the PDDL actions that perform it.
GOAL_ACTION = {}
for _pddl, _script in SCRIPT_ACTION.items():
    GOAL_ACTION.setdefault(_script, []).append(_pddl)
GOAL_ACTION.update({"RINSE": ["wash"], "SCRUB": ["wash"], "PULL": ["move"], "MOVE": ["move"]})

# Graph node states -> PDDL predicate, and the state that excludes it.
STATE_PREDICATE = {
    "CLOSED": ("closed", "OPEN"),
    "OPEN": ("open", "CLOSED"),
    "ON": ("on", "OFF"),
    "OFF": ("off", "ON"),
    "PLUGGED_IN": ("plugged_in", "PLUGGED_OUT"),
    "PLUGGED_OUT": ("plugged_out", "PLUGGED_IN"),
    "CLEAN": ("clean", "DIRTY"),
    "DIRTY": ("dirty", "CLEAN"),
    "SITTING": ("sitting", None),
    "LYING": ("lying", None),
}
# Relations observed over the objects in view (closed world: a missing edge is a false fact).
RELATION_PREDICATES = [
    "obj_ontop", "ontop", "on_char", "inside_room", "obj_inside", "inside",
    "obj_next_to", "next_to", "facing", "holds_rh", "holds_lh",
]

# Where EAI's virtualhome.pddl forbids what their own simulator does, the domain the agent gets
# is corrected to the simulator (execution.py); each correction is listed in the README.
# `serve.py --domain-as-shipped` serves the file unchanged.
DOMAIN_CORRECTIONS = {
    # PDDL: touch needs a readable object held in a hand (so no cat can ever be petted).
    # TouchExecutor.check_reachable: the character is close to it, and it is not inside a
    # closed container.
    "touch": "(and (next_to ?char ?obj) (not (exists (?obj2 - object) (and (obj_inside ?obj ?obj2) (closed ?obj2)))))",
}


def domain_text(as_shipped: bool = False) -> str:
    """virtualhome.pddl, with DOMAIN_CORRECTIONS applied unless `as_shipped`."""
    with open(osp.join(RESOURCES, "virtualhome.pddl")) as f:
        text = f.read()
    if as_shipped:
        return text
    for action, pre in DOMAIN_CORRECTIONS.items():
        start = text.find(f"(:action {action}")
        at = text.find(":precondition", start)
        if start < 0 or at < 0:
            raise TaskError(f"virtualhome.pddl: no action {action} with a precondition")
        i = text.find("(", at)
        depth = 0
        for j in range(i, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
        text = text[:i] + pre + text[j + 1:]
    return text


ERROR_TYPES = {
    0: "wrong_temporal_order",
    1: "missing_step",
    2: "affordance_error",
    3: "unseen_object",
    4: "additional_step",
    5: "unknown_error",
}

_log = logging.getLogger(__name__)
_CACHE: dict = {}


def _resource(name):
    if name not in _CACHE:
        with open(osp.join(RESOURCES, name)) as f:
            _CACHE[name] = json.load(f)
    return _CACHE[name]


def _scene_data():
    if "scene" not in _CACHE:
        _CACHE["scene"] = (
            utils.load_name_equivalence(),
            utils.load_properties_data(),
            utils.load_object_placing(),
        )
    return _CACHE["scene"]


def instance_ids() -> list[str]:
    """Every action-sequencing instance of scene 1 (EAI's `id2task.json`), in file order."""
    return list(_resource("id2task.json").keys())


class TaskError(ValueError):
    """An instance that cannot be served (unknown id, a goal object outside the problem)."""


@dataclass
class StepResult:
    """What one executed action did: `ok`, and when not, EAI's error type and message."""

    ok: bool
    script: str
    error_type: str | None = None
    reason: str = ""


@dataclass
class VhTask:
    """One instance loaded in EAI's simulator (`construct_planner`), ready to take actions."""

    file_id: str
    task_name: str = ""
    instruction: str = ""
    node_goals: list = field(default_factory=list)
    edge_goals: list = field(default_factory=list)
    action_goals: list = field(default_factory=list)

    def __post_init__(self):
        id2task = _resource("id2task.json")
        if self.file_id not in id2task:
            raise TaskError(f"id2task.json: no instance {self.file_id!r}")
        self.task_name = id2task[self.file_id]
        spec = _resource("task_state_LTL_formula_accurate.json")[f"scene_{SCENE_ID}"]
        goals = spec[self.task_name][self.file_id]["vh_goal"]
        self.node_goals = remove_duplicate_dicts([g for g in goals["goal"] if "state" in g])
        self.edge_goals = remove_duplicate_dicts(
            [g for g in goals["goal"] if "relation_type" in g]
        )
        # EAI's driver takes list(set(...)), whose order changes with the hash seed; the goals
        # are ordered, so the order of the file is kept (dict.fromkeys dedupes in order).
        self.action_goals = list(dict.fromkeys(goals["actions"]))
        ne, pd, op = _scene_data()
        self.planner, _, self.gold_actions, _, description = construct_planner(
            ne, pd, op, scenegraph_id=SCENE_ID, script_id=self.file_id, dataset_root=DATASET
        )
        self.instruction = " ".join(str(description).split())
        *_, self.relevant_name_to_id = self.planner.get_symbolic_goal_nl(
            self.node_goals, self.edge_goals, action_goals=self.action_goals
        )
        self.char_id = self.planner.acting_char_id
        self.problem_path = osp.join(
            RESOURCES, "problem_pddl", "_".join(self.task_name.split()), f"{self.file_id}.pddl"
        )
        graph = self.planner.init_state.to_dict()
        self._nodes = {n["id"]: n for n in graph["nodes"]}
        try:
            with open(self.problem_path) as f:
                self._problem_text = f.read()
            self.objects = _problem_objects(self._problem_text, self.problem_path)
        except OSError:
            # A few instances ship no problem file: one is written from the graph, as EAI's
            # generator does (the character, its room, the objects the goals name).
            self._problem_text = None
            room = [e["to_id"] for e in graph["edges"] if e["from_id"] == self.char_id and e["relation_type"] == "INSIDE" and self._nodes[e["to_id"]]["category"] == "Rooms"]
            self.objects = ["character"] + [self._nodes[r]["class_name"] for r in room[:1]]
        self.name_to_id = {"character": self.char_id}
        by_class: dict = {}
        for n in sorted(graph["nodes"], key=lambda n: n["id"]):
            by_class.setdefault(n["class_name"], n["id"])
        for name in self.objects:
            if name in self.name_to_id:
                continue
            node_id = self.relevant_name_to_id.get(name, by_class.get(name))
            if node_id is None:
                raise TaskError(f"{self.problem_path}: object {name!r} is in no graph node")
            self.name_to_id[name] = node_id
        # Objects the goals name but the problem file lacks (EAI's generator left out e.g. the
        # `light` of some Turn_on_light instances) are added with their graph facts.
        self.added = []
        goal_ids = [g["id"] for g in self.node_goals] + [i for g in self.edge_goals for i in (g["from_id"], g["to_id"])]
        for node_id in goal_ids:
            if node_id in self.name_to_id.values() or node_id not in self._nodes:
                continue
            name = self._nodes[node_id]["class_name"]
            if name in self.name_to_id:
                # A second object of a class: EAI's answer format cannot name it; here it gets
                # its own name, class and node id (`light_411`).
                name = f"{name}_{node_id}"
            self.name_to_id[name] = node_id
            self.objects.append(name)
            self.added.append(name)
        self.id_to_name = {i: n for n, i in self.name_to_id.items()}
        self.rooms = {n for n, i in self.name_to_id.items() if self._nodes.get(i, {}).get("category") == "Rooms"}
        self.reset()

    # -- the task as the agent sees it ------------------------------------------------------

    def gold_passes(self) -> bool:
        """Whether EAI's gold final graph passes their scorer (their denominator)."""
        return scene_evaluate_wID(
            self.planner.final_state_dict, self.node_goals, self.edge_goals, self.char_id
        )[3]

    def goal_literals(self) -> list[str]:
        """EAI's node and edge goals as PDDL literals over the problem's object names.

        Raises TaskError when a goal names a node that is no object of the problem.
        """
        out = []
        for g in self.node_goals:
            name = self._name(g["id"], "node goal")
            pred = STATE_PREDICATE.get(g["state"])
            if pred is None:
                raise TaskError(f"{self.file_id}: node goal state {g['state']!r} has no predicate")
            out.append(f"({pred[0]} {name})")
        for g in self.edge_goals:
            a = self._name(g["from_id"], "edge goal")
            b = self._name(g["to_id"], "edge goal")
            out.append(f"({self._relation(g['relation_type'], a, b)} {a} {b})")
        return list(dict.fromkeys(out))

    def required_actions(self) -> list[list[str]]:
        """EAI's action goals, in order, each as the PDDL actions that perform it."""
        out = []
        for group in self.action_goals:
            names = []
            for option in group.split("|"):
                names += GOAL_ACTION.get(option.strip().upper().replace(" ", ""), [])
            if not names:
                raise TaskError(f"{self.file_id}: action goal {group!r} has no PDDL action")
            out.append(list(dict.fromkeys(names)))
        return out

    def problem_pddl(self) -> str:
        """The instance's PDDL problem with EAI's goals in place of the file's `(:goal ...)`
        (many files state an empty goal)."""
        text = self._problem_text
        if text is None:
            text = "(define (problem %s)\n    (:domain virtualhome)\n    (:objects\n    character - character\n    )\n    (:init\n)\n    (:goal)" % "_".join(self.task_name.split())
            added = [o for o in self.objects if o != "character"]
        else:
            added = self.added
        if added:
            # New objects go into :objects, their properties and facts into :init.
            text = re.sub(r"(\(:objects[^)]*?)(\s*-\s*object)", lambda m: m.group(1) + " " + " ".join(added) + m.group(2), text, count=1) if re.search(r"-\s*object", text) else text.replace("character - character", "character - character\n    " + " ".join(added) + " - object", 1)
            init = []
            preds = _domain_predicates()
            for name in added:
                for prop in self._nodes[self.name_to_id[name]]["properties"]:
                    if prop.lower() in preds:
                        init.append(f"({prop.lower()} {name})")
            for lit, value in self.facts(False):
                words = lit.strip("()").split()
                if value and any(w in added for w in words[1:]):
                    init.append(lit)
            text = text.replace("(:init", "(:init\n    " + "\n    ".join(dict.fromkeys(init)), 1)
        start = text.find("(:goal")
        if start < 0:
            raise TaskError(f"{self.problem_path}: no (:goal")
        goal = "(:goal\n    (and\n" + "".join(f"        {l}\n" for l in self.goal_literals()) + "    )\n)\n)\n"
        return text[:start] + goal

    # -- the robot --------------------------------------------------------------------------

    def reset(self):
        """Back to the instance's initial graph, with an empty action history."""
        self.planner.reset()
        self.history: list[str] = []
        self.history_states = [copy.deepcopy(self.planner.env_state.to_dict())]
        self.errors: list[StepResult] = []

    def script_line(self, action: str, args: list[str]) -> str:
        """The script line of a PDDL ground action (`args` without the character).

        Raises TaskError for an action outside virtualhome.pddl or an unknown object.
        """
        script = SCRIPT_ACTION.get(action)
        if script is None:
            raise TaskError(f"no script action for PDDL action {action!r}")
        args = args[: SCRIPT_ARGS.get(script, len(args))]
        parts = [f"[{script}]"]
        for a in args:
            if a not in self.name_to_id:
                raise TaskError(f"object {a!r} is not in the problem of {self.file_id}")
            parts.append(f"<{a}> ({self.name_to_id[a]})")
        return " ".join(parts)

    def execute(self, action: str, args: list[str]) -> StepResult:
        """Execute one action in EAI's simulator, as their evaluation does: a failed action
        changes nothing and gets their error type (`TemporalOrderChecker`)."""
        line = self.script_line(action, args)
        prev = copy.deepcopy(self.history_states)
        ok, info = self.planner.my_execute_primitive_action_eval(line)
        if ok:
            self.history.append(line)
            self.history_states.append(copy.deepcopy(self.planner.env_state.to_dict()))
            return StepResult(True, line)
        try:
            checked = TemporalOrderChecker(info, prev).run_checker()
        except IndexError:
            # EAI's checker indexes an empty list for some missing preconditions
            # (checker.py, check_missing_preconds); their own error type stands then.
            checked = info
        code = checked.get_error_type()
        msg = " ".join(str(m) for m in checked.messages).strip() or "not executable"
        res = StepResult(False, line, ERROR_TYPES.get(code, f"error_{code}"), msg)
        self.errors.append(res)
        return res

    def facts(self, partial: bool) -> list[tuple[str, bool]]:
        """What the character perceives now, as PDDL literals with their values.

        Full: every object of the problem. Partial: the objects in the character's room or close to
        it that are not inside a closed container, the room itself and the character. Relations among
        perceived objects, and the character's own relations to every object (proprioception),
        are a closed world (a missing edge is a false fact); a state is
        reported true when the node has it and false when the node has the state that excludes
        it (a lamp with neither ON nor OFF says nothing about either); a posture (SITTING,
        LYING), which has no opposite, is false when the node lacks it.
        """
        state = self.planner.env_state.to_dict()
        nodes = {n["id"]: n for n in state["nodes"]}
        edges = {(e["from_id"], e["relation_type"], e["to_id"]) for e in state["edges"]}
        seen = set(self.name_to_id)
        if partial:
            seen = self._in_view(nodes, edges)
        out: list[tuple[str, bool]] = []
        for name in sorted(seen):
            node = nodes.get(self.name_to_id[name])
            if node is None:
                continue
            states = set(node["states"])
            if {"HAS_SWITCH", "HAS_PLUG"} & set(node["properties"]):
                # The simulator refuses SWITCHON only to a node in PLUGGED_OUT (execution.py,
                # check_switchable): a lamp without a plug is as good as plugged in.
                out.append((f"(plugged_out {name})", "PLUGGED_OUT" in states))
                out.append((f"(plugged_in {name})", "PLUGGED_OUT" not in states))
            for s, (pred, excluded) in STATE_PREDICATE.items():
                if s.startswith("PLUGGED"):
                    continue
                if s in states:
                    out.append((f"({pred} {name})", True))
                elif excluded is None or excluded in states:
                    # A posture has no opposite state: a perceived node without it lacks it.
                    out.append((f"({pred} {name})", False))
        true = set()
        for (f, rel, t) in edges:
            a, b = self.id_to_name.get(f), self.id_to_name.get(t)
            if (a == "character" or a in seen) and b is not None and a != b and rel in ("ON", "INSIDE", "CLOSE", "FACING", "HOLDS_RH", "HOLDS_LH"):
                true.add(f"({self._relation(rel, a, b)} {a} {b})")
        everything = sorted(self.name_to_id)
        for a in sorted(seen):
            # The character's own relations (where it is, what it is close to, faces, holds)
            # are proprioception: known towards every object, seen or not.
            for b in everything if a == "character" else sorted(seen):
                if a == b:
                    continue
                for pred in RELATION_PREDICATES:
                    if not _fits(pred, a, b, self.rooms):
                        continue
                    lit = f"({pred} {a} {b})"
                    out.append((lit, lit in true))
        # Object-to-object predicates never relate the character (EAI's mapping gives it its
        # own: ontop, inside, next_to); said so, a planner cannot assume them.
        for b in everything:
            if b == "character":
                continue
            for pred in RELATION_PREDICATES:
                for x, y in (("character", b), (b, "character")):
                    if not _fits(pred, x, y, self.rooms):
                        out.append((f"({pred} {x} {y})", False))
        return out

    def score(self) -> dict:
        """EAI's verdict on the episode: `scene_evaluate_wID` on the final graph and the executed
        script, with their error type of the first failed action."""
        node, edge, action, success, un_node, un_edge, un_action = scene_evaluate_wID(
            self.planner.env_state.to_dict(),
            self.node_goals,
            self.edge_goals,
            self.char_id,
            action_seq=self.history,
            action_goals=self.action_goals,
        )
        return {
            "file_id": self.file_id,
            "task": self.task_name,
            "success": bool(success),
            "node_goals": [node, len(self.node_goals)],
            "edge_goals": [edge, len(self.edge_goals)],
            "action_goals": [max(action, 0), len(self.action_goals)],
            "executed": list(self.history),
            "failed_actions": len(self.errors),
            "first_error": self.errors[0].error_type if self.errors else None,
            "unmet": [json.dumps(g) for g in un_node + un_edge] + list(un_action),
        }

    # -- helpers ----------------------------------------------------------------------------

    def _name(self, node_id, what) -> str:
        name = self.id_to_name.get(node_id)
        if name is None:
            cls = self.planner.id_to_name.get(node_id, "?")
            raise TaskError(f"{self.file_id}: {what} names node {node_id} ({cls}), no object of {self.problem_path}")
        return name

    def _relation(self, rel: str, a: str, b: str) -> str:
        # EAI's own mapping (eval_utils.get_initial_states_and_final_goals_wo_id), with rooms
        # read from the graph's "Rooms" category instead of a list of names.
        char_a, char_b = a == "character", b == "character"
        if rel == "ON":
            return "ontop" if char_a and not char_b else "on_char" if char_b and not char_a else "obj_ontop"
        if rel == "INSIDE":
            return "inside" if char_a or char_b else "inside_room" if b in self.rooms else "obj_inside"
        if rel == "CLOSE":
            return "next_to" if char_a or char_b else "obj_next_to"
        return {"FACING": "facing", "HOLDS_RH": "holds_rh", "HOLDS_LH": "holds_lh", "SITTING": "ontop"}.get(rel, rel.lower())

    def _in_view(self, nodes, edges) -> set:
        rooms = {t for (f, r, t) in edges if f == self.char_id and r == "INSIDE" and self.id_to_name.get(t) in self.rooms}
        seen = {"character"}
        closed = {i for i, n in nodes.items() if "CLOSED" in n["states"]}
        for name, node_id in self.name_to_id.items():
            if node_id in rooms:
                seen.add(name)
                continue
            in_room = any((node_id, "INSIDE", r) in edges for r in rooms)
            held = (self.char_id, "HOLDS_RH", node_id) in edges or (self.char_id, "HOLDS_LH", node_id) in edges
            hidden = any((node_id, "INSIDE", c) in edges for c in closed)
            # What the character is close to is in view, whether or not the graph places it
            # in a room (a ceiling light may hang on the ceiling only).
            close = (self.char_id, "CLOSE", node_id) in edges
            if held or ((in_room or close) and not hidden):
                seen.add(name)
        return seen


def _fits(pred: str, a: str, b: str, rooms: set) -> bool:
    """Whether `(pred a b)` is well typed: character predicates take the character first."""
    char_first = pred in ("ontop", "inside", "next_to", "facing", "holds_rh", "holds_lh")
    if char_first:
        return a == "character" and b != "character"
    if pred == "on_char":
        return b == "character" and a != "character"
    if a == "character" or b == "character":
        return False
    if pred == "inside_room":
        return b in rooms
    return True


def _domain_predicates() -> set:
    if "predicates" not in _CACHE:
        with open(osp.join(RESOURCES, "virtualhome.pddl")) as f:
            text = re.sub(r";.*", "", f.read())
        block = text[text.find("(:predicates"): text.find("(:action")]
        _CACHE["predicates"] = set(re.findall(r"\(\s*([\w-]+)\s+\?", block))
    return _CACHE["predicates"]


def _problem_objects(text: str, path: str) -> list[str]:
    m = re.search(r"\(:objects(.*?)\)", text, re.S)
    if not m:
        raise TaskError(f"{path}: no (:objects")
    names = []
    for line in m.group(1).splitlines():
        line = line.split(";")[0]
        if "-" in line:
            line = line.rsplit("-", 1)[0]
        names += line.split()
    return names
