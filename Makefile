# Every target installs what it needs: a virtualenv from the pinned requirements, npm ci from the lock.
SHELL := /bin/bash
# The functions run on python3.13 (infra/layers.py), so the suite does too when this machine has it
# (on PATH, or installed by pyenv but not selected); otherwise the newest supported one, with a note.
LAMBDA_PYTHON := 3.13
SUPPORTED_PYTHONS := 3.13 3.12 3.11
PYTHON ?= $(shell for version in $(SUPPORTED_PYTHONS); do \
	for candidate in python$$version $$(pyenv root 2>/dev/null)/versions/$$version*/bin/python$$version; do \
	$$candidate -c '' >/dev/null 2>&1 && { echo $$candidate; exit; }; done; done)
ifeq ($(PYTHON),)
$(error no Python $(SUPPORTED_PYTHONS) found; install python$(LAMBDA_PYTHON), or run make PYTHON=/path/to/python3.X)
endif
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ifneq ($(PYTHON_VERSION),$(LAMBDA_PYTHON))
$(info note: testing on Python $(PYTHON_VERSION) ($(PYTHON)); the functions run on $(LAMBDA_PYTHON). Install python$(LAMBDA_PYTHON) for the same answers.)
endif
# Which interpreter the virtualenv was built with: a different one rebuilds it.
PYTHON_ID := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambdas/layer/python:$(CURDIR)/lambdas
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
# The released zae-limiter packages the interop tests drive, each in its own virtualenv from a
# frozen requirements file (their boto3 pins differ from ours), on the same Python as the suite.
ZAE_LIMITER_VERSIONS := 0.6.0 0.9.1 0.17.0
ZAE_LIMITER_PYTHON ?= $(PYTHON)
INTEROP_VENVS := $(foreach version,$(ZAE_LIMITER_VERSIONS),.venv-zae-limiter/$(version)/.installed)

.PHONY: deps interop-venvs run test lint typecheck unit synth backfill verify prune bench clean FORCE

deps: $(VENV)/.installed node_modules/.installed

$(VENV)/.interpreter: FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
		if [ -d $(VENV) ]; then echo "Python changed to $(PYTHON_ID): rebuilding $(VENV)"; fi; \
		rm -rf $(VENV) && mkdir -p $(VENV) && echo "$(PYTHON_ID)" > $@; \
	fi

$(VENV)/.installed: $(VENV)/.interpreter requirements.txt requirements-dev.txt requirements-client.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

interop-venvs: $(INTEROP_VENVS)

.venv-zae-limiter/%/.installed: tests/interop/requirements/zae-limiter-%.txt
	rm -rf $(@D)
	$(ZAE_LIMITER_PYTHON) -m venv $(@D)
	$(@D)/bin/pip install --quiet --disable-pip-version-check --no-deps -r $<
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: deps
	$(PY) -m devtools.run_local

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: deps
	$(BIN)/mypy lambdas devtools infra app.py tests client

test: lint typecheck $(INTEROP_VENVS)
	$(BIN)/pytest -n 2 --dist loadfile

synth: deps
	npx cdk synth --quiet --output cdk.out

backfill verify prune: deps
	$(PY) -m devtools.backfill_cli $@

bench: deps $(INTEROP_VENVS)
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-zae-limiter node_modules cdk.out .mypy_cache .ruff_cache .pytest_cache
