"""A stand-in camera for the ROS 2 adapter tests (rclpy): publishes, every 50 ms, an rgb8 image,
a 16UC1 depth image and a CameraInfo on camera/color/image_raw, camera/depth/image_raw and
camera/color/camera_info, frame `head_camera_color_optical_frame`."""
import array
import sys

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

W, H = 64, 48
FRAME = "head_camera_color_optical_frame"


def main():
    rclpy.init()
    node = Node("fake_camera")
    pub_c = node.create_publisher(Image, "camera/color/image_raw", 10)
    pub_d = node.create_publisher(Image, "camera/depth/image_raw", 10)
    pub_i = node.create_publisher(CameraInfo, "camera/color/camera_info", 10)
    color = array.array("B", bytes((x * 3 + c) % 256 for y in range(H) for x in range(W) for c in range(3)))
    depth = array.array("B", b"\xe8\x03" * (W * H))  # 1000 mm, little-endian

    def tick():
        stamp = node.get_clock().now().to_msg()
        img = Image()
        img.header.stamp = stamp
        img.header.frame_id = FRAME
        img.height, img.width, img.encoding, img.step = H, W, "rgb8", W * 3
        img.data = color
        pub_c.publish(img)
        d = Image()
        d.header.stamp = stamp
        d.header.frame_id = FRAME
        d.height, d.width, d.encoding, d.step = H, W, "16UC1", W * 2
        d.data = depth
        pub_d.publish(d)
        info = CameraInfo()
        info.header.stamp = stamp
        info.header.frame_id = FRAME
        info.height, info.width = H, W
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.k = [50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0]
        pub_i.publish(info)

    node.create_timer(0.05, tick)
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


if __name__ == "__main__":
    sys.exit(main())
