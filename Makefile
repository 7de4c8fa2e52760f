# Entry points for newcomers and CI. `make test` is the test command CI runs (.ci/run).
SHELL := /bin/bash
export CLEA_PYTHON := $(CURDIR)/.venv/bin/python
# The ONNX Runtime library clea-perception loads (from the onnxruntime wheel setup installs in
# .venv). Expanded when a recipe runs, so it is found right after `setup`; a preset value wins.
export ORT_DYLIB_PATH ?= $(shell ls $(CURDIR)/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n1)

.PHONY: setup setup-base build test lint demo demo-llm bench
setup:
	./scripts/setup.sh

# Only what building `clea` needs (Debian packages): the demo uses no Python and no model.
setup-base:
	./scripts/setup.sh --base

build: setup
	cargo build --workspace

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

test: setup lint
	cargo test --workspace
	$(MAKE) test-ros2

# The CLEA kitchen suite: each scenario's reference plan open-loop (the paper's baseline), then
# the closed-loop agent.
demo: setup-base
	cargo build -p clea-launch
	./target/debug/clea sim sim/scenarios/clea-kitchen --reference-plan
	./target/debug/clea sim sim/scenarios/clea-kitchen

# The closed-loop agent with a model-backed planner and critic on a local model server
# (llama.cpp + Qwen2.5-0.5B on 2 CPU cores: minutes per episode; it plans badly, but every reply
# is validated before anything runs). The table shows model calls and tokens.
demo-llm: build
	./scripts/with-llm-server.sh 8080 ./target/debug/clea sim \
	  sim/scenarios/clea-kitchen/task-03-find-apple-medication.yaml \
	  --agent launch/files/llm-kitchen.yaml --log-dir logs

# Criterion benchmarks (release build).
bench:
	cargo bench -p clea-launch --bench closed_loop
	cargo bench -p clea-launch --bench fleet
	cargo bench -p clea-bus --bench sensor_log
	cargo bench -p clea-domain --bench planner

# ROS 2 (PyPI wheels + r2r, behind the `ros2` feature of clea-skills): setup-ros2, build-ros2,
# test-ros2. `make test` runs test-ros2 too.
include ros2.mk
