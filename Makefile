# Two commands for students: `make lab` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# the site, browser and nbgrader tools (extras `site` and `teach`), only for `make test` and `make site`
SITE_STAMP := $(VENV)/.installed-site
NPM_STAMP  := build/npm/.installed
# `make site` runs the chapters at the course's default budget; `make test` (CI) at `ci`
SITE_BUDGET ?= laptop

.PHONY: setup weights lab test test-lib test-course test-browser site site-assets lint demo \
	bench exercises gallery clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(SITE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,site,teach]"
	touch $(SITE_STAMP)

# MathJax for the site, from the npm registry (pinned by site/package-lock.json), into build/npm
$(NPM_STAMP): site/package.json site/package-lock.json
	mkdir -p build/npm
	cp site/package.json site/package-lock.json build/npm/
	cd build/npm && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup: $(STAMP) weights

weights: $(STAMP)
	$(BIN)/nstlab weights fetch

lab: setup
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

# nbval runs every chapter and exercise set twice, as the student gets it (stubs) and from its source
# (solutions/, answers filled in) (lax: a cell that raises fails; tools/nbval_record.py keeps the executed
# copies, which the site renders); nbgrader grades the solutions.
# Without npm (MathJax for the site) a student's machine skips the site and browser tests; CI never does.
test: setup lint test-lib test-course
	@if command -v npm >/dev/null || [ -n "$$CI" ]; then \
		$(MAKE) site SITE_BUDGET=ci && $(MAKE) test-browser; \
	else \
		echo "make test: site and browser tests skipped: npm not found (sudo apt-get install npm chromium)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-lib: setup
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest tests -m "not course and not browser"

NBVAL := PYTHONPATH=tools $(BIN)/python -m pytest -p nbval_record --nbval-lax --nbval-current-env

test-course: setup $(SITE_STAMP)
	NSTLAB_BUDGET=ci $(NBVAL) --nbval-cell-timeout=180 --durations=20 notebooks exercises solutions
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest -m course tests/course

test-browser: $(SITE_STAMP)
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest -m browser tests/browser -v

site-assets: $(NPM_STAMP)

site: setup $(SITE_STAMP) $(NPM_STAMP)
	NSTLAB_BUDGET=$(SITE_BUDGET) $(BIN)/python tools/build_site.py

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

demo: setup
	$(BIN)/nstlab stylize --content chelsea --style strokes -o outputs/demo.png

# the gallery's converged figures (about 50 minutes on 2 CPU cores; resumes where it stopped)
gallery: setup
	$(BIN)/nstlab gallery

bench: setup
	$(BIN)/python benchmarks/gatys.py

clean:
	rm -rf $(VENV) outputs .pytest_cache build
