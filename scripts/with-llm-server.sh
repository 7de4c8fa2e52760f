#!/usr/bin/env bash
# Runs a command with the local OpenAI-compatible model server (llama.cpp, Qwen2.5-0.5B) up on
# 127.0.0.1:PORT, then stops the server. Usage: scripts/with-llm-server.sh PORT command [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
port=$1; shift
model=${CLEA_LLM_MODEL:-.cache/models/qwen2.5-0.5b.gguf}
[ -f "$model" ] || { echo "with-llm-server: $model missing: run scripts/setup-llm.sh" >&2; exit 1; }
.venv/bin/python -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" \
  --n_ctx 4096 --n_threads "${CLEA_LLM_THREADS:-2}" --model_alias qwen05 > .cache/llm-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/v1/models', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 $server 2>/dev/null || { echo "with-llm-server: the server exited; see .cache/llm-server.log" >&2; exit 1; }
  sleep 0.5
done
"$@"
