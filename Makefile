# Two commands do all set-up: `make run` starts the bot, `make test` runs the whole suite.
# Both create .venv and install the pinned versions from requirements.lock on first use;
# the stamp file makes a second run skip the install unless the lock or pyproject changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web survey's browser tests drive Debian's own Chromium through Playwright (never a
# browser Playwright downloads); `make test` installs it when it is missing.
CHROMIUM := /usr/bin/chromium
APT := $(shell [ "$$(id -u)" = 0 ] || echo sudo) apt-get

.PHONY: install run test test-fast lint bench soak minne lock clean browser systemd-analyze

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Build .venv with the pinned versions and the `enkatbot` command; starts nothing (deploy/README.md).
install: $(STAMP)
	@echo "Installerat: $(CURDIR)/$(BIN)/enkatbot. Kontrollera inställningarna med: $(BIN)/enkatbot kontroll"

run: $(STAMP)
	$(BIN)/enkatbot run

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if command -v apt-get >/dev/null; then \
	    $(APT) update && DEBIAN_FRONTEND=noninteractive $(APT) install -y chromium; \
	  else \
	    echo "Installera Chromium ($(CHROMIUM)) för webbläsartesterna." >&2; \
	  fi; \
	fi

# tests/test_deploy.py checks the systemd units with systemd's own `systemd-analyze verify`.
systemd-analyze:
	@if ! command -v systemd-analyze >/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    $(APT) update && DEBIAN_FRONTEND=noninteractive $(APT) install -y systemd; \
	  else \
	    echo "Installera systemd (systemd-analyze) för testet av deploy/." >&2; \
	  fi; \
	fi

test: $(STAMP) browser systemd-analyze
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The pure and storage tiers only (markers in pyproject.toml): for quick checks while working.
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "pure or storage"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	timeout 600 $(BIN)/python -m bench.soak

minne: $(STAMP)
	timeout 600 $(BIN)/python -m bench.minne

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --upgrade -e '.[dev]'
	{ echo "# Pinned versions of every runtime and development dependency, for reproducible installs."; \
	  echo "# Regenerate with: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -vi finsam; } > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
