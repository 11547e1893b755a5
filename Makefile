# Two commands: `make demo` and `make test`. Both create .venv when missing and install the project.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m promptab_nb.cli demo --data data --out reports/demo.html

# Type check, unit tests (doctests included) in parallel, then the browser/Spark tests (they start
# servers), then the notebooks.
test: $(STAMP)
	bash scripts/test_setup.sh
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -n 2 -m "not browser and not spark" tests
	$(BIN)/python -m pytest -q -m "browser or spark" tests
	$(BIN)/python -m pytest -q --nbval-lax notebooks

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not browser and not spark and not slow" tests

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check promptab_nb tests scripts bench
	$(BIN)/ruff format --check promptab_nb tests scripts bench

clean:
	rm -rf $(VENV) reports .pytest_cache
