#!/usr/bin/env bash
# Create .venv and install this project into it, editable (the checkout's code runs), with the
# extras `app` and `test`: `pip install -e ".[app,test]"`. pyproject.toml is the one list of
# dependencies, so this runs again only when it changes. Sourced by ./run and ./test; leaves PY
# pointing at the environment's python (and `loopfind` in .venv/bin).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python_bin=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "creating the Python environment in $venv" >&2
  "$python_bin" -m venv "$venv"
fi
stamp="$venv/.pyproject.sha256"
want=$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing loopfind and its dependencies (pyproject.toml) into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[app,test]"
  rm -f "$venv/.requirements.sha256"  # the stamp of the former requirements.txt install
  echo "$want" > "$stamp"
fi
PY="$venv/bin/python"
export PY
