# The two commands a newcomer needs: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: install run test test-sqlite test-pg faults faults-short bench soak docs migration clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Start the whole platform locally (broker, four services, demo data). Ctrl-C stops it.
run: install
	$(PY) -m tools.stack

## The full suite on SQLite (unit, integration against a real broker, end-to-end across processes).
test: install
	$(PY) -m pytest

test-sqlite: test

## Every test that touches a database, again on PostgreSQL (a fresh database per test on $(PG_TEST_URL)).
## Unit and contract tests use no database, so the SQLite pass already covers them.
test-pg: install
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest tests/integration tests/e2e

## Faults injected while work flows: broker outage, killed consumers and replicas, database outage, poison records.
## Minutes long (the broker outage lasts 60 s), so `make test` leaves them out; CI runs the short ones. They run on the
## PostgreSQL server at PG_TEST_URL, where the database itself can be taken away; FAULTS_DATABASE=sqlite runs them on SQLite.
faults: install
	$(if $(filter sqlite,$(FAULTS_DATABASE)),,TEST_DATABASE_URL=$(PG_TEST_URL)) $(PY) -m pytest tests/faults

## The fault tests that take under a minute (database outage, poison records), for CI.
faults-short: install
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest tests/faults/test_database_outage.py tests/faults/test_poison_records.py

## Every benchmark the issues name; writes bench/RESULTS.md.
bench: install
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-$(PG_TEST_URL)} $(PY) -m bench.run

## Ten minutes of mixed traffic against the local stack; writes bench/SOAK.md (SOAK_MINUTES=... to change).
soak: install
	$(PY) -m bench.soak --minutes $${SOAK_MINUTES:-10}

## Regenerate the event JSON Schemas and the AsyncAPI document from the models.
docs: install
	$(PY) -m shared.events.docs

## New Alembic revision from the models: make migration SERVICE=profile MESSAGE="add tags"
migration: install
	$(PY) -m tools.make_migration $(SERVICE) "$(MESSAGE)"

clean:
	rm -rf $(VENV) var .pytest_cache
