# Corridors — set-up, run, test.
# `make run` and `make test` create .venv with a Python >= 3.12 found on this machine.
# Override the interpreter with `make run PYTHON=/path/to/python3.12`.

VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEED ?= 1
OUT ?= out/lachin-2023

.PHONY: run test app assets lint clean venv bench golden scorecards

# Find a working Python >= 3.12: $(PYTHON), python3.13, python3.12, python3, then pyenv's versions.
define find_python
for c in $(PYTHON) python3.14 python3.13 python3.12 python3 \
         $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
  if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
    command -v "$$c" 2>/dev/null || echo "$$c"; exit 0; fi; \
done; exit 1
endef

$(STAMP): pyproject.toml
	@py=$$( $(find_python) ) || { \
	  echo "error: Corridors needs Python >= 3.12 and none was found."; \
	  echo "  Install one (Debian 13: apt-get install python3.13 python3.13-venv;"; \
	  echo "  elsewhere: pyenv install 3.12) or point to it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12"; \
	  exit 1; }; \
	if [ ! -x $(VPY) ] || ! $(VPY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  echo "creating $(VENV) with $$py ($$($$py --version))"; \
	  rm -rf $(VENV); $$py -m venv $(VENV) || exit 1; \
	fi
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e ".[test]"
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/corridors run lachin-2023 --seed $(SEED) --out $(OUT)

test: $(STAMP) assets
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest

# The app's JavaScript (Solara's front end) and map borders, from the npm registry into Solara's
# asset cache, so the app and its browser tests never ask a CDN. A no-op once they are there.
assets: $(STAMP)
	$(VPY) -m corridors.app.assets --quiet

APP_HOST ?= 127.0.0.1
APP_PORT ?= 8765

app: $(STAMP) assets
	$(VENV)/bin/corridors app --host $(APP_HOST) --port $(APP_PORT)

# Benchmarks (under 10 minutes on the 2-core development machine); writes docs/benchmarks.md.
bench: $(STAMP) assets
	$(VPY) benchmarks/run.py

# Golden outputs (tests/golden/): refresh deliberately, after a change meant to move the numbers,
# and say why in the commit.
golden: $(STAMP)
	$(VPY) -m corridors.analysis.golden --write tests/golden

# Calibration scorecards of every built-in scenario with targets (docs/calibration/).
SCORECARD_SEEDS ?= 50
scorecards: $(STAMP)
	$(VPY) scripts/scorecards.py --seeds $(SCORECARD_SEEDS) --out docs/calibration

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis .ruff_cache
