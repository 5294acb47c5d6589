# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test test-future install lint services-check clean

# Install, then start the hub on its embedded default with the demo scenario loaded.
demo: install
	$(BIN)/hub serve --demo

# Install, then run every check and the whole test suite (starts PostgreSQL and the
# Kafka-protocol broker on loopback and stops them again). Three pytest workers on two
# cores: much end-to-end time is spent waiting on hub processes, brokers and consumer
# groups, so a third worker fills the cores (8 min 31 s with two, 7 min 38 s with three,
# measured back to back); a module's tests stay on one worker, as they share its hub.
PYTEST = $(BIN)/python -m pytest -n 3 --dist loadscope --durations=15

# The suite starts many hub processes; each would compile the project's modules again
# where the environment forbids bytecode files. They are kept under var/ instead.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/var/pycache

# mypy (about 40 s from a clean clone, on one core) runs beside the tests; its report is
# printed after theirs, and either failing fails the run.
test: install services-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@mkdir -p var
	@$(BIN)/mypy > var/mypy.log 2>&1 & types=$$!; \
	  $(PYTEST); tests=$$?; \
	  wait $$types; typed=$$?; echo "mypy:"; cat var/mypy.log; \
	  [ $$tests -eq 0 ] && [ $$typed -eq 0 ]

# The whole suite again with the clock of the tests and of every hub they start two years
# ahead: proof that no test depends on today's date (docs/testing.md, "The clock in tests").
test-future: install services-check
	HUB_CLOCK_OFFSET_DAYS=$${HUB_CLOCK_OFFSET_DAYS:-730} $(PYTEST)

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# PostgreSQL server binaries come from Debian's packages; install them when absent.
services-check:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { echo "Installing PostgreSQL server binaries (Debian package postgresql)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql >/dev/null; }
	@# The coordinators' page is tested in Debian's headless Chromium (never a downloaded one).
	@test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || \
	  { echo "Installing Chromium (Debian packages chromium, chromium-driver)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@# ... and checked with axe-core, from the npm registry at the version package-lock.json pins.
	@test -f tests/support/axe/node_modules/axe-core/axe.min.js || \
	  { echo "Installing axe-core (npm, tests/support/axe)"; \
	    npm ci --prefix tests/support/axe --no-audit --no-fund --silent; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
