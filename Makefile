# eventkit developer tasks. `make serve` and `make test` set everything up themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: serve test lint fix bench bench-quick bench-query fuzz clean chromium

$(VENV)/.run-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(VENV)/.run-installed $@

## Install eventkit and run it on ./eventkit.db (SQLite, no other service).
serve: $(VENV)/.run-installed
	$(VENV)/bin/eventkit serve

## The browser tests drive Debian's Chromium (never a downloaded browser): install it
## where apt-get is available; elsewhere they are skipped with a message.
chromium:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		>/dev/null 2>&1; } || echo "chromium unavailable: the browser tests will be skipped"

## Install the test extras and run the test suite (PostgreSQL tests run when
## EVENTKIT_TEST_POSTGRES_URL is set, e.g. postgresql://postgres@127.0.0.1:5432/postgres).
## Three workers on two cores: most tests wait on servers and sockets (12 min vs 22 min).
test: $(VENV)/.test-installed chromium
	$(PY) -m pytest -n 3

## Longer bad-input and fault runs than CI's: 1000 schemathesis examples per operation
## and mode, 2000 hypothesis examples per decoder test, and the full 30 s database
## outage (CI runs 8 s).
fuzz: $(VENV)/.test-installed
	FUZZ_EXAMPLES=1000 $(PY) -m pytest -q -s tests/e2e/test_fuzz_api.py
	FUZZ_EXAMPLES=2000 $(PY) -m pytest -q tests/capture/test_fuzz_decoder.py
	FAULT_OUTAGE_SECONDS=30 $(PY) -m pytest -q -s tests/e2e/test_faults_outage.py tests/e2e/test_faults_crash.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check eventkit plugins tests bench
	$(VENV)/bin/ruff format --check eventkit plugins tests bench
	$(VENV)/bin/mypy

fix: $(VENV)/.test-installed
	$(VENV)/bin/ruff check --fix eventkit plugins tests bench
	$(VENV)/bin/ruff format eventkit plugins tests bench

## Benchmarks print a baseline measured in the same run beside each figure.
bench: $(VENV)/.test-installed
	$(PY) bench/ingest.py
	$(PY) bench/flags.py
	$(PY) bench/plugins.py
	$(PY) bench/pipeline.py
	$(PY) bench/client.py
	$(PY) bench/nodes.py
	$(PY) bench/alerts_anomaly.py
	$(PY) bench/releases.py
	$(PY) bench/web.py

## Paths, cohorts, measures and SQL at 10M events beside DuckDB (docs/sql.md); long.
bench-query: $(VENV)/.test-installed
	$(PY) bench/query.py

bench-quick: $(VENV)/.test-installed
	$(PY) bench/ingest.py --quick
	$(PY) bench/flags.py --quick
	$(PY) bench/plugins.py --quick
	$(PY) bench/pipeline.py --quick
	$(PY) bench/nodes.py --quick
	$(PY) bench/web.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
