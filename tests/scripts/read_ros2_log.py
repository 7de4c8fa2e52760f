#!/usr/bin/env python3
"""Read a CLEA ROS 2 sensor log (`<episode>.ros2.mcap`) with `rosbags`; print one JSON object.

    read_ros2_log.py FILE

`rosbags` (https://gitlab.com/ternaris/rosbags) reads rosbag2 MCAP files without a ROS install:
it checks the `ros2` profile, builds its types from the `ros2msg` schemas stored in the file and
deserializes the CDR messages, as rosbag2 tooling does. Used by the tests
(tests/tests/sensor_log.rs, skills/tests/ros2_logging.rs), run with $CLEA_PYTHON.

The JSON object holds:
  connections  [{"topic", "msgtype", "count"}], sorted by topic
  messages     [{"topic", "msgtype", ...fields}] in log order; images give width, height,
               encoding, step, is_bigendian, frame_id, stamp [sec, nanosec], data_len,
               data_sum (sum of the bytes) and data_head (the first 16 bytes); compressed images
               format and the same three; camera infos
               width, height, k; odometry child_frame_id, position, orientation, linear, angular
  error        null, or what stopped the reading
"""

import json
import sys
from pathlib import Path

from rosbags.highlevel import AnyReader


def header(m):
    return {"frame_id": m.header.frame_id, "stamp": [m.header.stamp.sec, m.header.stamp.nanosec]}


def describe(msgtype, m):
    if msgtype == "sensor_msgs/msg/Image":
        data = bytes(m.data)
        return {**header(m), "width": m.width, "height": m.height, "encoding": m.encoding,
                "step": m.step, "is_bigendian": m.is_bigendian, "data_len": len(data),
                "data_sum": sum(data), "data_head": list(data[:16])}
    if msgtype == "sensor_msgs/msg/CompressedImage":
        data = bytes(m.data)
        return {**header(m), "format": m.format, "data_len": len(data),
                "data_sum": sum(data), "data_head": list(data[:16])}
    if msgtype == "sensor_msgs/msg/CameraInfo":
        return {**header(m), "width": m.width, "height": m.height, "k": [float(v) for v in m.k]}
    if msgtype == "nav_msgs/msg/Odometry":
        p, t = m.pose.pose, m.twist.twist
        return {**header(m), "child_frame_id": m.child_frame_id,
                "position": [p.position.x, p.position.y, p.position.z],
                "orientation": [p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w],
                "linear": [t.linear.x, t.linear.y, t.linear.z],
                "angular": [t.angular.x, t.angular.y, t.angular.z]}
    return {}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = {"connections": [], "messages": [], "error": None}
    try:
        with AnyReader([Path(sys.argv[1])]) as reader:
            out["connections"] = sorted(
                ({"topic": c.topic, "msgtype": c.msgtype, "count": c.msgcount}
                 for c in reader.connections), key=lambda c: c["topic"])
            for conn, _t, raw in reader.messages():
                m = reader.deserialize(raw, conn.msgtype)
                out["messages"].append({"topic": conn.topic, "msgtype": conn.msgtype,
                                        **describe(conn.msgtype, m)})
    except Exception as e:  # reported, not raised: the test prints it
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
