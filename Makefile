# serinus: the commands a developer and CI use. `make help` lists them.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Worker processes for `make test` (pytest-xdist, one test file per worker at a time).
TEST_WORKERS ?= 3

.PHONY: help setup system-packages test check demo crds clean

help:
	@echo "make demo    set up, then play the seed's canary releases (promotion and rollback)"
	@echo "make test    set up, then run the whole test suite"
	@echo "make check   formatting, lint, mypy --strict and the import layers"
	@echo "make crds    regenerate deploy/crds/ from the models"

system-packages:
	@bash scripts/system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,sandbox]'
	@touch $(STAMP)

setup: system-packages $(STAMP)

test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

check: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

demo: setup
	$(BIN)/serinus demo

crds: $(STAMP)
	$(BIN)/serinus crds --output deploy/crds
	bash scripts/sync-chart-crds.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
