#!/usr/bin/env bash
# Bench setup: build pyBKT 1.4.3 from source in its own venv (it needs scikit-learn < 1.8
# and numpy < 2.4, which the project does not use), for bench/model_fit.py's comparison.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PYBKT_VENV:-$ROOT/.cache/pybkt-venv}"
PYTHON="${PYTHON:-python3}"

mkdir -p "$(dirname "$VENV")"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --upgrade pip setuptools wheel
"$VENV/bin/pip" install "numpy==2.3.*" "scikit-learn==1.7.*" pandas
"$VENV/bin/pip" install --no-build-isolation --no-binary pybkt "pybkt==1.4.3"
"$VENV/bin/python" - <<'PY'
from pyBKT.models import Model
import pyBKT
print("pyBKT ready:", getattr(pyBKT, "__version__", "1.4.3"), Model)
PY
