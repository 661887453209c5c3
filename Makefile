# The two commands of README.md. Each makes the virtualenv and installs what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: plan test servers bench validate schema clean

# Debian packages, installed only when missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL = $(SUDO) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null'


$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## plan: validate the registry and show the offline plan of a stack (default: dev), no credentials
plan: $(VENV)/.installed
	$(PY) -m tenancy validate
	$(PY) -m tenancy plan --stack $(STACK)

## servers: the PostgreSQL and Redis binaries that the data-plane tests start on loopback
servers:
	@command -v redis-server >/dev/null || $(call APT_INSTALL,redis-server)
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || $(call APT_INSTALL,postgresql)

## test: the whole test suite
test: $(VENV)/.installed servers
	$(PY) -m pytest

## bench: the benchmarks (audit of 200 tenants; plan of 25 and 100), as ratios to an in-run baseline
bench: $(VENV)/.installed
	$(PY) -m benchmarks.audit_benchmark --tenants 200
	$(PY) -m benchmarks.plan_benchmark --sizes 25,100

validate: $(VENV)/.installed
	$(PY) -m tenancy validate

schema: $(VENV)/.installed
	$(PY) -m tenancy schema

clean:
	rm -rf $(VENV) .pytest_cache
