# Polku: the two commands are `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
# The run command is the development service: the test sign-in stands in for strong authentication.
FLASK := POLKU_ENV=$${POLKU_ENV:-development} $(VENV)/bin/flask --app orchestrator
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run cluster test test-sqlite test-postgres lint bench bench-cold bench-processes bench-inbox bench-metrics install install-test messages clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# Message catalogs are compiled at install; the .mo files are not kept in git.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard orchestrator/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -i $< -o $@

# The browser tests drive Debian's Chromium; the OpenID provider they sign in at runs on Node.js.
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed $(CATALOGS)
install-test: $(VENV)/.installed-test $(CATALOGS) tests/oidc/node_modules/.package-lock.json
	.ci/ensure-chromium

## messages: extract the UI's strings and update the fi, sv and en catalogs
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o orchestrator/translations/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i orchestrator/translations/messages.pot -d orchestrator/translations --no-fuzzy-matching

## run: install, migrate the database, deploy the sample pathways, serve on http://$(HOST):$(PORT)/
run: install
	$(FLASK) db upgrade
	$(FLASK) deploy bpmn/
	$(FLASK) serve --host $(HOST) --port $(PORT)

## cluster: N server processes (N=3) on the database POLKU_DATABASE_URL names, behind a loopback round robin on $(PORT)
N ?= 3
cluster: install
	$(FLASK) db upgrade
	$(PY) -m orchestrator.tools.cluster --processes $(N) --port $(PORT)

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

## bench-cold: completions of 5,000 instances each not in the cache, beside warm ones, on SQLite and on PostgreSQL
bench-cold: install-test
	$(PY) benchmarks/complete_tasks.py --cold
	.ci/with-postgres $(PY) benchmarks/complete_tasks.py --database postgresql --cold

## bench-processes: completions by three clients through 1 and then 3 server processes on one PostgreSQL
bench-processes: install-test
	.ci/with-postgres sh -c '$(PY) benchmarks/complete_tasks.py --database postgresql --processes 1 --clients 3 && \
	  $(PY) benchmarks/complete_tasks.py --database postgresql --processes 3 --clients 3'

## bench-inbox: the team inbox with 10,000 open tasks against a trivial signed-in page
bench-inbox: install-test
	$(PY) benchmarks/inbox.py

## bench-metrics: the dashboards on 100,000 and on 1,000,000 instances (2 and 20 million events), side by side, in a throwaway PostgreSQL
bench-metrics: install-test
	.ci/with-postgres $(PY) benchmarks/metrics.py

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage
