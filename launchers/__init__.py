"""absl launchers, one per agent: `python -m launchers.<agent> --env=... --seed=...`."""

import os

# Launchers are programs: keep TensorFlow's C++ start-up chatter out of their output.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
