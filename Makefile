# footfall developer commands. Every target sets itself up: a fresh clone needs only `make run` or `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= footfall.duckdb
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck check venv dev browser-deps bench bench-query clean tracker test-browser

# What running needs (`make run`): footfall and its dependencies only.
$(BIN)/footfall: pyproject.toml setup.py src/footfall/_speedups.c src/footfall/_sessiontable.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/footfall

# What the tests, linters and benchmarks need besides: the dev extra (pytest, Playwright, clients…).
$(VENV)/.dev: $(BIN)/footfall
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.dev

venv: $(BIN)/footfall

dev: $(VENV)/.dev

run: venv
	$(BIN)/footfall quickstart --db $(DB) --host $(HOST) --port $(PORT)

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: dev
	$(BIN)/mypy

test: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

# The browser tracker: tracker/footfall.src.js -> src/footfall/static/footfall.js and .gz (needs Node + npm; the
# built files are committed, so only people changing the tracker run this).
tracker/node_modules/.package-lock.json: tracker/package.json tracker/package-lock.json
	cd tracker && npm ci --no-audit --no-fund

tracker: tracker/node_modules/.package-lock.json
	cd tracker && node build.mjs

test-browser: dev
	$(BIN)/pytest -q -m browser

bench: dev
	$(BIN)/python bench/ingest.py

# chDB, the ClickHouse baseline, is the bench extra (~175 MB download): installed on first use
bench-query: dev
	$(BIN)/python -c 'import chdb' 2>/dev/null || $(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/query.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
