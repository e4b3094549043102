#!/usr/bin/env bash
# Create/refresh the Stable-Baselines3 reference venv (idempotent).
#   benchmarks/setup_sb3.sh              -> <repo>/.venv-sb3
#   SB3_VENV=/path/venv benchmarks/setup_sb3.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="${SB3_VENV:-$ROOT/.venv-sb3}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_sb3] creating venv at $VENV"
    "$PY" -m venv "$VENV"
else
    echo "[setup_sb3] reusing venv at $VENV"
fi
# keep the venv out of `git status` without touching the repo's .gitignore
[ -f "$VENV/.gitignore" ] || echo '*' > "$VENV/.gitignore"

# torch first, alone: any spec other than the pinned one may download a CUDA build.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements-sb3.txt"

"$VENV/bin/python" - <<'PY'
import torch, stable_baselines3, gymnasium, numpy
print(f"[setup_sb3] torch {torch.__version__}  sb3 {stable_baselines3.__version__}  "
      f"gymnasium {gymnasium.__version__}  numpy {numpy.__version__}")
PY
echo "[setup_sb3] run: $VENV/bin/python $HERE/sb3_reference.py --algo ppo --env CartPole-v1 --steps 50000 --seed 0"
