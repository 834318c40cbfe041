# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The settings derive their default links and the engine's address from PORT.
export PORT
ENGINE_PORT ?= 8800
# The web client (Next.js, static export) that Django serves at /.
WEB := frontend
WEB_BUILT := $(WEB)/out/index.html
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) \
	$(addprefix $(WEB)/,package.json package-lock.json next.config.ts tsconfig.json)

.PHONY: run test lint format check schema clean help run-engine bench-engine bench-engine-fanout \
	bench-engine-queries bench web

help:
	@echo "make run    set up everything and serve on http://$(HOST):$(PORT) (SQLite, built-in chat engine, demo data)"
	@echo "make test   run the test suite (DATABASE_URL picks the database; SQLite by default)"
	@echo "make lint   ruff and mypy; ESLint and tsc for the web client"
	@echo "make web    build the web client (frontend/) if it is missing or stale"
	@echo "make run-engine    serve only the built-in chat engine at the root of port $(ENGINE_PORT)"
	@echo "make bench-engine  chat engine load: 1,000 sockets, ramped sends, burst, idle sockets, against a broadcast server"
	@echo "make bench  control-plane benchmark: production server on loopback, wrk, ratios to a bare view (PostgreSQL)"

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

.env:
	cp .env.example .env

$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "The web client needs Node.js 20.9 or newer with npm (see README.md)."; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

# Rebuilt only when a source, the lock file or the configuration changed.
$(WEB_BUILT): $(WEB)/node_modules/.installed $(WEB_SOURCES)
	@echo "Building the web client: $(WEB)/out is missing or older than $(WEB)/src..."
	cd $(WEB) && NEXT_TELEMETRY_DISABLED=1 npm run build
	@touch $@

web: $(WEB_BUILT)

run: $(BIN)/.installed .env $(WEB_BUILT)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve $(HOST):$(PORT)

test: $(BIN)/.installed $(WEB_BUILT)
	$(BIN)/python -m pytest -n auto --dist loadgroup -q
	$(BIN)/python -m pytest -q chatplatform/tests/test_fuzz.py chatengine/tests/test_fuzz.py

lint: $(BIN)/.installed $(WEB)/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy
	cd $(WEB) && npm run --silent lint && npm run --silent typecheck

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(BIN)/.installed .env
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file openapi.yaml

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache $(WEB)/out $(WEB)/.next $(WEB)/node_modules

# The built-in chat engine alone at the root of its own port, for SDKs that drop
# a path prefix (docs/chat-engine.md). Same database and settings as `make run`.
run-engine: $(BIN)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python -m daphne -b $(HOST) -p $(ENGINE_PORT) chatengine.standalone:application

# The engine against a minimal broadcast server (bench/engine_load.py, docs/performance.md):
# BENCH_ENGINE_ARGS="--configs broadcast,sqlite --clients 200 --steps 5,20" for a quick run.
# The older fan-out and query-count scripts: make bench-engine-fanout, bench-engine-queries.
bench-engine: $(BIN)/.installed
	$(BIN)/python bench/engine_load.py $(BENCH_ENGINE_ARGS)

bench-engine-fanout: $(BIN)/.installed
	$(BIN)/python bench/chatengine_fanout.py

bench-engine-queries: $(BIN)/.installed
	$(BIN)/python bench/chatengine_queries.py

# The control plane under the production server configuration (bench/controlplane/run.py).
# Needs PostgreSQL (BENCH_DATABASE_URL, default cpbench_controlplane on 127.0.0.1) and wrk.
bench: $(BIN)/.installed
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk (Debian), brew install wrk (macOS)."; exit 1; }
	$(BIN)/python bench/controlplane/run.py $(BENCH_ARGS)
