# `make` bootstraps .venv from the lock, validates the data, builds the release artifacts
# and the documentation site. `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The site's map boundaries (Natural Earth via world-atlas) come from the npm registry, by the lock.
NODE_STAMP := node_modules/.installed

.PHONY: all validate build docs fmt test bench clean

all: validate build docs

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	-git config merge.aipolicy-table.name "AI Policy Atlas table merge by primary key"
	-git config merge.aipolicy-table.driver "$(BIN)/aipolicy merge-table %O %A %B %P"
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

validate: $(STAMP)
	$(BIN)/aipolicy validate

build: $(STAMP)
	$(BIN)/aipolicy build

docs: $(STAMP) $(NODE_STAMP)
	$(BIN)/aipolicy docs

fmt: $(STAMP)
	$(BIN)/aipolicy fmt

# The tests run in parallel, one worker per core (pytest-xdist), the longest first, and a
# worker that runs out of tests takes some from the other (worksteal); PYTEST_ARGS= runs
# them in one process.
PYTEST_ARGS ?= -n auto --dist worksteal
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf dist site bench docs/generated node_modules

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
