# Every target installs what it needs: a virtualenv from the pinned requirements, npm ci from the lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambdas/layer/python:$(CURDIR)/lambdas
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export TABLE_NAME ?= resource-registry
# The released zae-limiter packages the interop tests drive, each in its own virtualenv from a
# frozen requirements file (their boto3 pins differ from ours). python3.13 where it is installed
# under another name (pyenv without a global 3.13), else the first python3.13 on PATH.
ZAE_LIMITER_VERSIONS := 0.6.0 0.9.1 0.17.0
ZAE_LIMITER_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
INTEROP_VENVS := $(foreach version,$(ZAE_LIMITER_VERSIONS),.venv-zae-limiter/$(version)/.installed)

.PHONY: deps interop-venvs run test lint typecheck unit synth backfill verify prune bench clean

deps: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-client.txt constraints.txt pyproject.toml
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
