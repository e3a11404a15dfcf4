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

.PHONY: setup weights lab test test-lib test-course test-browser test-notebooks site site-assets lint demo \
	bench exercises clean

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

# Every notebook is executed once: test-course runs the chapters and exercise sets (keeping the executed
# copies for the site) and grades the solutions with nbgrader; the site renders those copies.
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

test-course: setup $(SITE_STAMP)
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest -m course tests/course --durations=40

test-browser: $(SITE_STAMP)
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest -m browser tests/browser -v

# nbval of every notebook, solution and exercise (one notebook: add NB=path)
test-notebooks: setup
	NSTLAB_BUDGET=ci $(BIN)/python -m pytest --nbval-lax --durations=15 $(or $(NB),notebooks solutions exercises)

site-assets: $(NPM_STAMP)

site: setup $(SITE_STAMP) $(NPM_STAMP)
	NSTLAB_BUDGET=$(SITE_BUDGET) $(BIN)/python tools/build_site.py

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

demo: setup
	$(BIN)/nstlab stylize --content chelsea --style strokes -o outputs/demo.png

bench: setup
	$(BIN)/python benchmarks/gatys.py

clean:
	rm -rf $(VENV) outputs .pytest_cache build
