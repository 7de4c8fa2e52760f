"""A stand-in robot for the ROS 2 adapter tests (rclpy, run with .venv-ros2/bin/python).

- action server `fibonacci` (test_msgs/action/Fibonacci): one feedback per step, `--period`
  seconds apart; honours cancel; a negative order aborts; an order of 1000000 + n accepts a cancel
  but goes on and succeeds after n steps (a robot that finished the work anyway);
- service `set_gripper` (std_srvs/srv/SetBool): success = request.data;
- subscriber `estop` (std_msgs/msg/Bool).
Events go to stdout as JSON lines with `t` = time.time(), the first being {"event": "ready"}.
"""
import argparse
import json
import sys
import threading
import time

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool
from std_srvs.srv import SetBool
from test_msgs.action import Fibonacci


_out = threading.Lock()


def log(**kw):
    kw["t"] = time.time()
    with _out:  # one write per line: callbacks run on several threads
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


class FakeRobot(Node):
    def __init__(self, period):
        super().__init__("fake_robot")
        self.period = period
        cg = ReentrantCallbackGroup()
        self.action = ActionServer(
            self, Fibonacci, "fibonacci",
            execute_callback=self.execute,
            goal_callback=lambda _g: GoalResponse.ACCEPT,
            cancel_callback=self.on_cancel,
            callback_group=cg)
        self.srv = self.create_service(SetBool, "set_gripper", self.on_set, callback_group=cg)
        # The adapter latches the e-stop state (transient local): a late subscriber still gets it.
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.sub = self.create_subscription(
            Bool, "estop", lambda m: log(event="estop", data=m.data), latched, callback_group=cg)

    def on_cancel(self, _goal):
        log(event="cancel")
        return CancelResponse.ACCEPT

    def on_set(self, req, resp):
        log(event="set", data=req.data)
        resp.success = req.data
        resp.message = "closed" if req.data else "refused"
        return resp

    def execute(self, gh):
        order = gh.request.order
        log(event="goal", order=order)
        seq = [0, 1]
        stubborn = order >= 1000000
        if stubborn:
            order -= 1000000
        if order < 0:
            gh.abort()
            log(event="aborted")
            return Fibonacci.Result(sequence=seq)
        fb = Fibonacci.Feedback()
        for i in range(1, max(order, 1)):
            if gh.is_cancel_requested and not stubborn:
                gh.canceled()
                log(event="canceled")
                return Fibonacci.Result(sequence=seq)
            seq.append(seq[i] + seq[i - 1])
            fb.sequence = seq
            gh.publish_feedback(fb)
            time.sleep(self.period)
        gh.succeed()
        log(event="succeeded", sequence=seq)
        return Fibonacci.Result(sequence=seq)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--period", type=float, default=0.05)
    a = ap.parse_args()
    rclpy.init()
    node = FakeRobot(a.period)
    ex = MultiThreadedExecutor(num_threads=4)
    ex.add_node(node)
    log(event="ready")
    try:
        ex.spin()
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


if __name__ == "__main__":
    sys.exit(main())
