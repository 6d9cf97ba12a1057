# twin workbench — two commands on a fresh machine: `make demo` and `make test`.
# Each installs what is missing (Debian packages, .venv, compiled FMUs), then runs.
# Everything is stamp-based and idempotent: when in place, set-up costs seconds.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TWIN   := $(VENV)/bin/twin
PYTEST_ARGS ?=
OUT    ?= out/demo

.PHONY: setup deps apt fmus asl test test-fast test-under-load soak demo bench bench-quick lint format clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: apt deps fmus asl  ## install everything that is missing (apt packages, .venv, FMUs, Ipopt's ASL bridge)

apt:  ## Debian packages the project needs (only the missing ones; needs root)
	@bash scripts/ensure-apt.sh

deps: $(VENV)/.stamp-deps  ## the .venv with the package installed in editable mode

$(VENV)/.stamp-deps: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --upgrade-deps $(VENV)
	@$(VENV)/bin/uv --version >/dev/null 2>&1 || $(PY) -m pip install -q uv
	@$(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]' \
	  || $(PY) -m pip install -q -e '.[dev]'
	@# bytecode of every installed package, written once: with PYTHONDONTWRITEBYTECODE set (as on CI
	@# machines) every `twin` process would otherwise compile scipy, sklearn, xarray ... again (~10 s each)
	@$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1 || true
	@touch $@

fmus: deps  ## compile the shipped FMUs and the C stepper into fmu_models/build (skipped when up to date)
	@$(TWIN) fmu build

asl: deps apt  ## Pyomo's libpynumero_ASL.so for Ipopt (skipped when present)
	@bash scripts/build-pynumero-asl.sh $(PY)

test: setup  ## install what is missing, then run the whole test suite (tests/docs beside the rest)
	@bash scripts/run-tests.sh $(PY) $(PYTEST_ARGS)

test-under-load: setup  ## the whole suite 3 times (RUNS=n) while two busy loops load both cores
	@bash scripts/test-under-load.sh $(PY) $(PYTEST_ARGS)

test-fast: setup  ## the suite without tests marked slow
	@$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

soak: setup  ## the soak test alone: 24 h of plant time with server kills, a clock step, full disks
	@$(PY) -m pytest tests/soak $(PYTEST_ARGS)

demo: setup  ## install what is missing, then run the end-to-end tour
	@$(TWIN) demo --out $(OUT)

bench: setup  ## run benchmarks/ against their baselines; writes benchmarks/results/*.json
	@$(PY) -m benchmarks.run

bench-quick: setup  ## small sizes, to check the benchmarks run
	@$(PY) -m benchmarks.run --quick

lint: deps  ## ruff
	@$(VENV)/bin/ruff check .

format: deps
	@$(VENV)/bin/ruff format .

clean:  ## remove build output (keeps .venv)
	rm -rf fmu_models/build out .pytest_cache
