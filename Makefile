# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install run test test-sqlite test-postgres test-slow e2e lint clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## make run: install, migrate the SQLite database in instance/, load demo data when empty, serve.
run: install
	$(BIN)/flask --app wsgi setup
	@echo "检答 已启动： http://$(HOST):$(PORT)/  （Ctrl+C 停止）"
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## make test: the whole suite on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
test: install test-sqlite test-postgres

test-sqlite: install
	env -u TEST_DATABASE_URL $(BIN)/pytest -q -n 2

test-postgres: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same suite on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(BIN)/pytest -q -n 2; \
	else \
		echo "== PostgreSQL run skipped: TEST_DATABASE_URL is not set"; \
	fi

## make test-slow: fault tests (tests/test_faults.py: load, kill -9, disk full, backup drill) on SQLite,
## and on PostgreSQL too when TEST_DATABASE_URL is set. Excluded from `make test`; about 5 minutes.
test-slow: install
	env -u TEST_DATABASE_URL $(BIN)/pytest -q -m slow tests/test_faults.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(BIN)/pytest -q -m slow tests/test_faults.py -k postgres; fi

## make e2e: the browser flows (Playwright + Debian's Chromium) against a fresh instance on a free port.
## Screenshots (1366x768 and 390x844) and failure reports go to e2e-artifacts/. E2E_ARGS="-k ask" selects flows.
e2e: install
	$(BIN)/python e2e/run.py $(E2E_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
