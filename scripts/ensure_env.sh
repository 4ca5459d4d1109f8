#!/usr/bin/env bash
# Create .venv and install requirements.txt into it, once per change of requirements.txt.
# Sourced by ./run and ./test; leaves PY pointing at the environment's python.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python_bin=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "creating the Python environment in $venv" >&2
  "$python_bin" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing requirements (first run only)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.txt"
  echo "$want" > "$stamp"
fi
PY="$venv/bin/python"
export PY
