# Two commands do everything on a fresh machine:
#   make demo   - the whole pipeline on a generated 2012 year of sample feeds
#   make test   - the test suite (real PostgreSQL, real Airflow DAG runs, real dbt, real GX)
# Both create (or reuse) the pinned environment in .venv from requirements.lock.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: venv system-deps demo run summary test test-fast lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==0.13.8
	$(UV) pip sync -q --python $(PY) --compile-bytecode requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps --compile-bytecode -e .
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium renders the dashboard in its test (and a CJK font makes the screenshot legible).
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "The dashboard test needs: sudo apt-get install chromium fonts-wqy-microhei" >&2; exit 1; \
	  fi; \
	fi

demo: venv  ## generate a 2012 year of feeds into LANDING_DIR and run the whole pipeline
	$(PY) -m hzwh demo --reset

run: venv  ## FEEDS.md §7: run everything in LANDING_DIR through the Airflow DAGs once
	$(PY) -m hzwh run

summary: venv
	$(PY) -m hzwh summary

test: venv system-deps  ## the whole suite
	$(PY) -m pytest

test-fast: venv  ## unit and DAG tests only (no Airflow runs)
	$(PY) -m pytest -m "not integration"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models include/hzwh/sql

bench: venv  ## benchmark suite, not part of `make test` (~20 min): bench/results/benchmark.md; BENCH_ARGS=--quick
	$(PY) bench/suite.py $(BENCH_ARGS)

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .airflow data dbt_project/target dbt_project/logs
