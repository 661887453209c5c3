# The two commands of README.md. Each makes the virtualenv and installs what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev

.PHONY: plan test validate schema clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## plan: validate the registry and show the offline plan of a stack (default: dev), no credentials
plan: $(VENV)/.installed
	$(PY) -m tenancy validate
	$(PY) -m tenancy plan --stack $(STACK)

## test: the whole test suite
test: $(VENV)/.installed
	$(PY) -m pytest

validate: $(VENV)/.installed
	$(PY) -m tenancy validate

schema: $(VENV)/.installed
	$(PY) -m tenancy schema

clean:
	rm -rf $(VENV) .pytest_cache
