# ROS 2 targets, included by the Makefile. The default cargo build stays free of ROS 2; these
# targets build and test the `ros2` feature of clea-skills against real rclpy nodes.
.PHONY: setup-ros2 build-ros2 test-ros2
setup-ros2:
	./scripts/setup-ros2.sh

build-ros2: setup-ros2
	. ./.venv-ros2/env.sh && cargo build -p clea-skills --features ros2

# Real rclpy nodes (skills/tests/ros2/*.py); each test binary uses its own ROS_DOMAIN_ID (71-75).
test-ros2: setup-ros2
	. ./.venv-ros2/env.sh && cargo test -p clea-skills --features ros2 --test 'ros2_*'
