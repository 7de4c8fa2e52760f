# Entry points for newcomers and CI. `make test` is the test command CI runs (.ci/run).
SHELL := /bin/bash
export CLEA_PYTHON := $(CURDIR)/.venv/bin/python

.PHONY: setup build test lint demo
setup:
	./scripts/setup.sh

build: setup
	cargo build --workspace

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

test: setup lint
	cargo test --workspace

# The CLEA kitchen suite, open-loop with each scenario's reference plan (the paper's baseline).
demo: build
	./target/debug/clea sim sim/scenarios/clea-kitchen --reference-plan
