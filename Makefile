# Noise to Image. The two commands: `make site` (precompute + site on the shipped models, CPU) and `make test`.
# Everything lives in .venv; torch is pinned to the CPU build so the default install stays light.

VENV   ?= .venv
PY     := $(VENV)/bin/python
RUNS   ?= runs
OUT    ?= site
CONFIG ?= default
# Precompute processes: auto = one per GPU, or on a CPU one one-thread process per core (at most 4):
# the small shipped UNets run faster as processes than as threads (benchmarks/processes.py).
PROCESSES ?= auto
STAMP  := $(VENV)/.installed

.PHONY: site precompute test test-fast lint install browser-deps live-runtime npm-dev benchmarks clean

# uv installs from pip's own sources (scripts/pip_sources.py) in about 10 s where pip takes about 50 on
# the 2-core machine (2026-12-06); where uv cannot be had, or fails, pip does it as before.
# --compile-bytecode, as pip does by default: without the .pyc files, a machine that sets
# PYTHONDONTWRITEBYTECODE (this one does) compiles torch and diffusers afresh in every Python process,
# 9.4 CPU-s an import instead of 3.5; compiling them once at install takes about 22 s on the 2 cores.
UV_INSTALL := $(PY) -m pip install --quiet uv 2>/dev/null && \
	$(VENV)/bin/uv pip install --python $(PY) --quiet --compile-bytecode $$($(PY) scripts/pip_sources.py) \
	torch==2.13.0 -e '.[precompute,test]'
PIP_INSTALL := $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet torch==2.13.0 && \
	$(PY) -m pip install --quiet -e '.[precompute,test]'

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	@($(UV_INSTALL)) || (echo "uv unavailable: installing with pip" && $(PIP_INSTALL))
	touch $(STAMP)

install: $(STAMP)

precompute: install
	$(PY) -m generate precompute --config $(CONFIG) --runs $(RUNS) --processes $(PROCESSES)

# SITE_URL: the address the site will be served from (instant navigation matches links against it).
site: precompute live-runtime
	$(PY) -m generate site --runs $(RUNS) --out $(OUT) $(if $(SITE_URL),--site-url $(SITE_URL))

# The site's npm packages, pinned in site_src/package.json and its lock file, installed with `npm ci`
# into .cache/npm (a copy of the pins goes there: npm installs beside its package.json, and nothing
# is installed into the sources): live mode's runtime (onnxruntime-web, which generate/site/live.py
# also checks file by file) for `make site`; with the test tools (eslint, vnu-jar) for `make test`.
# A changed lock file installs again. Without npm the site still builds, without live mode, and says so.
NPM_DIR := .cache/npm
NODE_MODULES := $(NPM_DIR)/node_modules
NPM_PINNED := cmp -s site_src/package-lock.json $(NPM_DIR)/package-lock.json
NPM_CI := mkdir -p $(NPM_DIR) && cp site_src/package.json site_src/package-lock.json $(NPM_DIR)/ && \
	npm ci --prefix $(NPM_DIR) --silent --no-audit --no-fund
live-runtime:
	@($(NPM_PINNED) && test -f $(NODE_MODULES)/onnxruntime-web/dist/ort.wasm.min.js) || \
	  (command -v npm >/dev/null && $(NPM_CI) --omit=dev) || \
	  echo "npm not found: the site builds without live mode"

npm-dev:
	@($(NPM_PINNED) && test -x $(NODE_MODULES)/.bin/eslint -a -f $(NODE_MODULES)/vnu-jar/build/dist/vnu.jar) || ($(NPM_CI))

# Debian's Chromium for the browser tests (never a downloaded browser); the W3C Nu validator (npm
# vnu-jar, run with the machine's Java) for the HTML check.
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v java >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null)

# ruff's checks and formatter (pyproject.toml [tool.ruff]), import-linter's contracts (layers that point
# down, no torch in the site stage: [tool.importlinter]) and eslint over the site's scripts
# (site_src/eslint.config.mjs): part of `make test`, so CI runs them.
lint: install npm-dev
	$(PY) -m ruff check generate tests benchmarks scripts
	$(PY) -m ruff format --check generate tests benchmarks scripts
	$(VENV)/bin/lint-imports --no-cache
	cd site_src && ../$(NODE_MODULES)/.bin/eslint -c eslint.config.mjs "assets/js/**/*.js"

# The tests run in WORKERS processes (pytest-xdist): one more than the cores, because a browser test
# spends part of its time waiting on the page, and the spare process fills that core (on the 2-core
# machine the CPU idled 15 % of a 2-process run and 8 % of a 3-process one, 2026-12-06). Each takes a
# contiguous share of the tests (a module's fixtures set up once) and a process that runs out takes
# work from another's end (worksteal: no core idles through a long last test);
# what they share (built sites, the default runs) is made once for all (tests/site_support.py).
WORKERS ?= $(shell python3 -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')
PYTEST  := $(PY) -m pytest -q -n $(WORKERS) --dist worksteal

test: install browser-deps npm-dev lint
	$(PYTEST); code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$code

# The fast tier: every module, every lesson's page built, one browser pass over every page; the
# slow tests (pytest marker `slow`, registered in pyproject.toml) are left to `make test`.
test-fast: install browser-deps npm-dev lint
	$(PYTEST) -m "not slow"; code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$code

benchmarks: install
	$(PY) benchmarks/run.py
	$(PY) benchmarks/tables.py

clean:
	rm -rf $(RUNS) $(OUT) .$(OUT).docs .$(OUT).cache .$(OUT).mkdocs.yml
