# Two commands for students: `make lab` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup weights lab test test-lib test-notebooks lint demo bench exercises clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP) weights

weights: $(STAMP)
	$(BIN)/nstlab weights fetch

lab: setup
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

test: setup lint test-lib test-notebooks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-lib: setup
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest tests

test-notebooks: setup
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest --nbval-lax --durations=15 notebooks solutions exercises

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

demo: setup
	$(BIN)/nstlab stylize --content chelsea --style strokes -o outputs/demo.png

bench: setup
	$(BIN)/python benchmarks/gatys.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
