# Every target bootstraps .venv itself, so a fresh clone needs nothing but python3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check chaos bench lint fmt clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sentitui demo

test: $(STAMP) check
	$(BIN)/python -m pytest -n 2 -q

# Style, formatting, types and layers (the import-linter contracts in pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check sentitui tests
	$(BIN)/ruff format --check sentitui tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# The long chaos runs (tests marked `chaos`: many kills, larger feeds); `make test` runs
# the short ones.
chaos: $(STAMP)
	$(BIN)/python -m pytest -q -m chaos tests/test_chaos_resume.py

bench: $(STAMP)
	$(BIN)/python -c "import scrapy" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/sentitui bench

lint: $(STAMP)
	$(BIN)/ruff check sentitui tests

fmt: $(STAMP)
	$(BIN)/ruff format sentitui tests

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
