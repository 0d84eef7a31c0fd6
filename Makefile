# Two newcomer commands: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/us-equity
# Every installed profile (built in and plugins), as listed by the CLI itself.
PROFILES = $$($(CLI) list --format json | $(PY) -c 'import json, sys; print(" ".join(r["name"] for r in json.load(sys.stdin)))')

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

# torch first and pinned: the CPU build lies on disk here; an unpinned torch pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[ml,dev]"
	touch $@

demo: setup
	$(CLI) list
	@for p in $(PROFILES); do echo; echo "=== dry-run $$p (embedded demo data)"; \
		$(CLI) dry-run --profile $$p || exit $$?; done

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/bench_cli_cold_start.py
	$(PY) benchmarks/bench_evaluate_latency.py
	cd benchmarks && ../$(PY) bench_features.py && ../$(PY) bench_stock_snapshots.py && ../$(PY) bench_backtest.py && ../$(PY) bench_backtest_monthly.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
