# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The interpreter the venv is made from: the distribution's /usr/bin/python3 when it is 3.11+
# and has venv, else python3 on PATH; `make PYTHON=...` chooses another. Debian's is one static
# binary built with profile-guided optimisation and LTO, while this machine's pyenv python3 runs
# on a shared libpython built without them: the bus's target rows ran 1.3-1.5 times as fast on
# Debian's (bench/interpreter.py, in docs/performance.md).
SYSTEM_PYTHON := /usr/bin/python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(SYSTEM_PYTHON) -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $(SYSTEM_PYTHON) || echo python3)
endif
# A venv made from another interpreter than PYTHON is made again from scratch.
PYTHON_EXE := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
VENV_EXE := $(shell $(BIN)/python -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null)
ifneq ($(VENV_EXE),$(PYTHON_EXE))
VENV_CLEAR := --clear
$(STAMP): FORCE
endif

.PHONY: demo test install npm clean bench browser FORCE

NPM_STAMP := node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV_CLEAR) $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

# The devnet's pinned npm packages (anvil, Uniswap artifacts, solc), from package-lock.json.
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing; install Node.js 18+ and npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

# The executor contract, compiled with the pinned npm solc (never committed as bytecode).
build/MevExecutor.json: contracts/executor/MevExecutor.sol $(STAMP) $(NPM_STAMP)
	$(BIN)/mevbot contract build

install: $(STAMP) $(NPM_STAMP) build/MevExecutor.json

demo: install
	$(BIN)/mevbot demo

# Debian's chromium for the dashboard's browser test (no browser download: the distro package).
browser:
	@bash tests/observability/install_chromium.sh

test: install browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/bus.py

clean:
	rm -rf $(VENV) run build dist
