# Polku: the two commands are `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app orchestrator
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgres lint bench install install-test clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install, migrate the database, deploy the sample pathways, serve on http://$(HOST):$(PORT)/
run: install
	$(FLASK) db upgrade
	$(FLASK) deploy bpmn/
	$(FLASK) serve --host $(HOST) --port $(PORT)

## test: lint, then the whole suite on SQLite and again on a throwaway PostgreSQL server
test: lint test-sqlite test-postgres

lint: install-test
	$(VENV)/bin/ruff check .

test-sqlite: install-test
	$(PY) -m pytest --cov --cov-report=term:skip-covered

test-postgres: install-test
	.ci/with-postgres $(PY) -m pytest

## bench: the completion benchmark (real HTTP server on loopback)
bench: install-test
	$(PY) benchmarks/complete_tasks.py

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage
