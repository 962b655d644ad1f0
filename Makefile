# The two commands of the README: `make run` and `make test`. Both create the environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Size of the embedded default run (synthetic data); override e.g. `make run USERS=20000`.
USERS ?= 5000
DAYS ?= 60
HOLDOUT_DAYS ?= 30
BAD_RATE ?= 0.01

.PHONY: setup prepare run test test-fast lint dev clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,spark]"
	touch $(STAMP)

setup: $(STAMP)

prepare: setup
	$(BIN)/huaxiang prepare

run: prepare
	$(BIN)/huaxiang generate --users $(USERS) --days $(DAYS) --holdout-days $(HOLDOUT_DAYS) --bad-rate $(BAD_RATE)
	$(BIN)/huaxiang run

# Three workers, a test file each (--dist loadfile: a file's module fixtures are built once). Most
# of a test's time is one-threaded dbt/Dagster/JVM start-up and waiting on subprocesses (two
# workers kept 2 cores ~63 % busy), so a third worker fills the gaps (docs/testing.md).
# --no-loadscope-reorder: files are handed out in the order tests/conftest.py gives (longest
# first), not by their number of tests (xdist's default put the 4-test Spark file near the end).
test: prepare
	$(BIN)/pytest -q -ra --durations=25 -n 3 --dist loadfile --no-loadscope-reorder

test-fast: prepare
	$(BIN)/pytest -q -m "not slow"

# The benchmark (docs/benchmarks.md): S in CI-friendly time; M and L with `huaxiang bench --size M`.
.PHONY: bench
bench: prepare
	$(BIN)/huaxiang bench --size S

lint: setup
	$(BIN)/ruff check .

dev: prepare
	$(BIN)/huaxiang dev

clean:
	rm -rf .huaxiang dbt_project/target dbt_project/logs
