# Each target bootstraps what it needs: Debian packages (PostgreSQL 15, Chromium) and the .venv.
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_BINDIR := /usr/lib/postgresql/15/bin
SYSTEM_PYTHON ?= python3

.PHONY: run test lint system-packages clean

run: $(STAMP) system-packages
	$(VENV)/bin/paychaos run baseline

test: $(STAMP) system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q --durations=15

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

$(STAMP): pyproject.toml
	$(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# PostgreSQL 15 server binaries, without the Debian default cluster (each run makes its own).
system-packages:
	@if [ ! -x $(PG_BINDIR)/initdb ] || ! id postgres >/dev/null 2>&1; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "PostgreSQL 15 is missing: run 'sudo make system-packages'" >&2; exit 3; \
		fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq postgresql-common >/dev/null && \
		sed -i 's/^#* *create_main_cluster.*/create_main_cluster = false/' \
			/etc/postgresql-common/createcluster.conf && \
		apt-get install -y -qq postgresql-15 >/dev/null; \
	fi
	@# Headless Chromium opens report.html in the report test, as a reader's browser would.
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "Chromium is missing: run 'sudo make system-packages'" >&2; exit 3; \
		fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	fi

clean:
	rm -rf $(VENV) reports/runs .pytest_cache .ruff_cache .hypothesis
