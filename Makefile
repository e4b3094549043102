# Two commands for a new user (Python 3.11): `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
RUN_FLAGS ?= --env=CartPole-v1 --tuned --num_steps=100000 --seed=0 --logdir=runs/ppo/CartPole-v1/seed0

.PHONY: check-python install run test test-fast benchmark clean

# Before anything else: the pinned stack (TensorFlow 2.15, dm-reverb 0.14) installs on 3.11 only.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "error: this project needs Python 3.11; '$(PYTHON)' is $$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo 'not found')."; \
	  echo "Get it with 'pyenv install 3.11' or 'apt install python3.11 python3.11-venv' (or uv python install 3.11),"; \
	  echo "then run: make PYTHON=/path/to/python3.11 ..."; exit 1; }

$(BIN)/.installed: requirements.txt pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/.installed

# Sets up .venv, trains PPO on CartPole-v1 (100k steps), prints the final evaluation and the logdir.
run: install
	$(BIN)/python -m launchers.ppo $(RUN_FLAGS)

# Sets up .venv and runs the whole test suite on 2 processes.
test: install
	$(BIN)/python -m pytest -n 2 --dist=worksteal -q

test-fast: install
	$(BIN)/python -m pytest -n 2 --dist=worksteal -q -m "not slow"

benchmark: install
	$(BIN)/python -m launchers.benchmark --agent=ppo --env=CartPole-v1 --seeds=0,1,2

clean:
	rm -rf $(VENV) runs .pytest_cache *.egg-info
