# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create ./.venv on first use and install what they need into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint browser-deps docs bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU wheel first, so no range below can pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sk_eeg2music demo --out demo_output

lint: $(STAMP)
	$(PY) -m ruff check sk_eeg2music tests benchmarks
	$(PY) -m ruff format --check sk_eeg2music tests benchmarks

# The browser test drives Debian's chromium (never a browser downloaded by
# Playwright). Installed when missing and possible (CI runs as root);
# otherwise the test is skipped, except under CI=1 where it fails.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-liberation >/dev/null; \
	else \
		echo "browser-deps: chromium is missing and cannot be installed here (needs root" \
			"and apt-get); the browser test will be skipped (it fails when CI is set)."; \
	fi

test: lint browser-deps
	$(PY) -m pytest -q

# Warnings are errors; the gallery examples run during the build (about two
# minutes on two cores). SPHINXOPTS="-D plot_gallery=0" skips running them.
SPHINXOPTS ?=
docs: $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	$(PY) -m sphinx -W --keep-going -b html $(SPHINXOPTS) docs docs/_build/html

bench: $(STAMP)
	$(PY) benchmarks/speed.py

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build docs/auto_examples docs/generated docs/_generated
