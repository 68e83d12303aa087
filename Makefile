# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG := $(wildcard config.toml)

.PHONY: run test lint unit bench clean lock

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip > /dev/null

# pip's build chatter goes to a log, shown only when the install fails.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing beatmatch into $(VENV) (first run only)…"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . > $(VENV)/pip.log 2>&1 \
		|| (cat $(VENV)/pip.log; exit 1)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing beatmatch with the dev tools into $(VENV)…"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' \
		> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@$(BIN)/beatmatch run $(if $(CONFIG),--config $(CONFIG))

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# pytest exits 5 when it collected nothing: that must fail, not pass silently. The suite runs on
# both cores (pytest-xdist; idle workers steal queued tests, and the slow ones start first). The
# Redis tests run a real redis-server (Debian's package): installed
# here when missing (CI runs as root on a fresh machine); apt's chatter goes to a log, shown only
# when the install fails.
test: lint
	@command -v redis-server >/dev/null || { echo "installing redis-server (for the Redis tests)…"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) \
		> $(VENV)/apt.log 2>&1 || { cat $(VENV)/apt.log; echo "could not install redis-server"; exit 1; }; }
	@$(BIN)/python -m pytest -q -n auto --dist worksteal $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# requirements.lock: every runtime dependency of pyproject.toml pinned with its hashes, for the
# Docker image (no dev tools). Run after changing [project] dependencies; tests/unit/test_lock.py
# fails while the two disagree. Pins that still fit are kept; `make lock LOCK_ARGS=--upgrade` moves
# every pin to the newest release allowed. Needs the package index (pip-tools: the dev extra).
lock: $(VENV)/.installed-dev
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet $(LOCK_ARGS) --generate-hashes \
		--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --output-file requirements.lock pyproject.toml

bench: $(VENV)/.installed-dev
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
