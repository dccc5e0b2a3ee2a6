# Signage: `make run` to try it, `make test` to check it. Needs only python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
export SIGNAGE_ENV ?= development

.PHONY: run test lint format migrate demo check fuzz clean help flaky-network faults phones bench profile

help:
	@echo "make run      set up, migrate the SQLite database, load the demo, serve on http://$(HOST):$(PORT)"
	@echo "make test     run the test suite (PostgreSQL too when TEST_DATABASE_URL is set)"
	@echo "make lint     ruff check and format check"
	@echo "make check    lint, test, and a longer fuzzing pass (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) per operation)"
	@echo "make fuzz     only the longer fuzzing pass"
	@echo "make migrate  apply migrations to DATABASE_URL (SQLite file under instance/ by default)"
	@echo "make flaky-network  a phone losing every third response, against gunicorn on PostgreSQL"
	@echo "make faults   PostgreSQL restart, worker kill, full media disk under phone writes (root; docs/faults.md)"
	@echo "make phones   50 simulated phones for 2 minutes against gunicorn on PostgreSQL (docs/load-phones.md)"
	@echo "make bench    benchmark on PostgreSQL (BENCH_PG, default postgres@127.0.0.1:5432) into docs/benchmarks.md"
	@echo "make profile  py-spy profile of one benchmark scenario (SCENARIO=\"get one shop\")"

$(DEPS): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

migrate: $(DEPS)
	$(BIN)/flask --app wsgi db upgrade

demo: migrate
	$(BIN)/flask --app wsgi demo load

run: demo
	@echo ""
	@echo "Signage is starting on http://$(HOST):$(PORT)"
	@echo "  API:          http://$(HOST):$(PORT)/api/v1"
	@echo "  API docs:     http://$(HOST):$(PORT)/api/v1/docs  (OpenAPI: /api/v1/openapi.json)"
	@echo "  Health:       http://$(HOST):$(PORT)/healthz, /readyz"
	@echo "  Sign in:      curl -X POST http://$(HOST):$(PORT)/api/v1/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"captain\",\"password\":\"demo-captain-2024\"}'"
	@echo "Press Ctrl+C to stop."
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT) --no-debugger --no-reload

test: $(DEPS)
	SIGNAGE_ENV=testing $(BIN)/python -m pytest

lint: $(DEPS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEPS)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The suite fuzzes every operation briefly (8 examples each); this pass takes more, with
# schemathesis' coverage phase (boundary values of every parameter) on.
FUZZ_EXAMPLES ?= 25
fuzz: $(DEPS)
	SIGNAGE_ENV=testing FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py

check: lint test fuzz

flaky-network: $(DEPS)
	$(BIN)/python scripts/flaky_network.py

# Long scripted runs, never part of `make test`; each writes its last figures under docs/.
faults: $(DEPS)
	$(BIN)/python scripts/faults.py

PHONES_SECONDS ?= 120
phones: $(DEPS)
	$(BIN)/python -m bench.phones --seconds $(PHONES_SECONDS)

# Never part of `make test`. wrk drives the load when it is there (installed here when apt can);
# otherwise bench/load.py's Python driver does.
bench: $(DEPS)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; } >/dev/null 2>&1 \
		|| echo "wrk could not be installed: the Python load generator drives the benchmark"
	$(BIN)/python -m bench.run

SCENARIO ?= get one shop
profile: $(DEPS)
	$(BIN)/python -m bench.profile "$(SCENARIO)" --reuse

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
