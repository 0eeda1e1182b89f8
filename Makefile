# Two entry points on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install npm clean bench browser

NPM_STAMP := node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
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
