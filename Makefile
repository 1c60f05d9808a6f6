# Two commands on a fresh machine with Python 3.11+ and make: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export CX_HOME ?= $(CURDIR)/var

.PHONY: install chromium demo test lint bench bench-validate clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[airflow,celery,dev]'
	touch $(STAMP)

install: $(STAMP)

# 90 days of sample data ending yesterday, the nightly pipeline over them, the latest report.
demo: install
	@END=$$($(BIN)/python -c "import datetime as d; print(d.date.today() - d.timedelta(days=1))"); \
	START=$$($(BIN)/python -c "import datetime as d; print(d.date.today() - d.timedelta(days=90))"); \
	$(BIN)/cx sample-data --start $$START --end $$END && \
	$(BIN)/cx db init && \
	$(BIN)/cx backfill --start $$START --end $$END && \
	$(BIN)/cx report --date $$END --send

# headless Chromium for the browser tests of the report (Debian package); idempotent
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install -y chromium' (browser tests skip without it)"; \
	  fi; }

# test files in the order collected, not largest first: the Airflow cluster tests (minutes each, in
# one file so that they share one embedded backfill) then start at once instead of running last
# while the other workers sit idle. One worker more than cores: those tests, and the ones driving
# `cx` processes, spend much of their time waiting on a scheduler's loop or a child's imports
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install chromium
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# speed targets, each a ratio against a reference measured in the same run (benchmarks/)
bench: install bench-validate
	$(BIN)/python benchmarks/themes_speed.py
	$(BIN)/python benchmarks/api_pull.py
	$(BIN)/python benchmarks/sentiment_eval.py
	$(BIN)/python benchmarks/sentiment_speed.py
	$(BIN)/python benchmarks/dag_parse.py
	$(BIN)/python benchmarks/backfill.py
	$(BIN)/python benchmarks/nightly.py
	$(BIN)/python benchmarks/pipeline.py --scale 1,10

lint: install
	$(BIN)/ruff check .

bench-validate: install
	$(BIN)/python benchmarks/validate_speed.py

clean:
	rm -rf var .pytest_cache
