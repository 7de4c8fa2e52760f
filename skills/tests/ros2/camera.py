"""A stand-in camera and base for the ROS 2 adapter tests (rclpy): publishes, every 50 ms, an rgb8
image, a 16UC1 depth image, a CameraInfo and the same colour image as a PNG CompressedImage on
camera/color/image_raw, camera/depth/image_raw, camera/color/camera_info and
camera/color/image_raw/compressed (frame `head_camera_color_optical_frame`), and an Odometry on
odom (base_link in odom, at (1.5, -0.25), heading 0.6435 rad, 0.3 m/s forward).

With `--rgb FILE --size WxH` it publishes that photograph instead of the test pattern (raw rgb8
bytes, row-major, as the test wrote them from a real picture), with a depth image of
`--depth-mm` everywhere and intrinsics fx = fy = `--focal` px at the image centre."""
import argparse
import array
import struct
import sys
import zlib

import rclpy
from rclpy.node import Node
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

W, H = 64, 48
FRAME = "head_camera_color_optical_frame"


def png(width, height, rgb):
    """A valid PNG file (8-bit RGB, no filter) of the given pixels: what image_transport's
    `compressed` plugin sends with format `rgb8; png compressed rgb8`."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rgb", help="raw rgb8 pixels of a photograph to publish")
    ap.add_argument("--size", default=f"{W}x{H}", help="WxH of --rgb, px")
    ap.add_argument("--depth-mm", type=int, default=1000, help="depth everywhere, mm")
    ap.add_argument("--focal", type=float, default=50.0, help="fx = fy, px")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    rclpy.init()
    node = Node("fake_camera")
    pub_c = node.create_publisher(Image, "camera/color/image_raw", 10)
    pub_d = node.create_publisher(Image, "camera/depth/image_raw", 10)
    pub_i = node.create_publisher(CameraInfo, "camera/color/camera_info", 10)
    pub_z = node.create_publisher(CompressedImage, "camera/color/image_raw/compressed", 10)
    pub_o = node.create_publisher(Odometry, "odom", 10)
    if args.rgb:
        with open(args.rgb, "rb") as f:
            color = array.array("B", f.read())
        assert len(color) == w * h * 3, f"{args.rgb}: {len(color)} bytes is not {w}x{h} rgb8"
    else:
        color = array.array("B", bytes((x * 3 + c) % 256 for y in range(h) for x in range(w) for c in range(3)))
    depth = array.array("B", struct.pack("<H", args.depth_mm) * (w * h))  # little-endian mm
    compressed = array.array("B", png(w, h, color.tobytes()))

    def tick():
        stamp = node.get_clock().now().to_msg()
        img = Image()
        img.header.stamp = stamp
        img.header.frame_id = FRAME
        img.height, img.width, img.encoding, img.step = h, w, "rgb8", w * 3
        img.data = color
        pub_c.publish(img)
        d = Image()
        d.header.stamp = stamp
        d.header.frame_id = FRAME
        d.height, d.width, d.encoding, d.step = h, w, "16UC1", w * 2
        d.data = depth
        pub_d.publish(d)
        info = CameraInfo()
        info.header.stamp = stamp
        info.header.frame_id = FRAME
        info.height, info.width = h, w
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.k = [args.focal, 0.0, w / 2, 0.0, args.focal, h / 2, 0.0, 0.0, 1.0]
        pub_i.publish(info)
        z = CompressedImage()
        z.header.stamp = stamp
        z.header.frame_id = FRAME
        z.format = "rgb8; png compressed rgb8"
        z.data = compressed
        pub_z.publish(z)
        o = Odometry()
        o.header.stamp = stamp
        o.header.frame_id = "odom"
        o.child_frame_id = "base_link"
        o.pose.pose.position.x, o.pose.pose.position.y = 1.5, -0.25
        o.pose.pose.orientation.z, o.pose.pose.orientation.w = 0.316227766, 0.948683298
        o.twist.twist.linear.x = 0.3
        pub_o.publish(o)

    node.create_timer(0.05, tick)
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


if __name__ == "__main__":
    sys.exit(main())
