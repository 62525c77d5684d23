# The README's commands. `make setup` is implied by the others.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False
export TIKTOKEN_CACHE_DIR := $(CURDIR)/.cache/tiktoken
# `make demo TRACE=console|otlp`: the examples export their OpenTelemetry spans.
ifdef TRACE
export CHROMABRIDGE_TRACE := $(TRACE)
endif

.PHONY: setup test test-fast lint typecheck pytest demo bench clean

setup: $(STAMP)
	@# The editable install is a strict link tree: refresh it so new modules appear.
	@mkdir -p .cache && $(PY) -m pip install -q --no-deps --no-build-isolation \
		--config-settings editable_mode=strict -e . >.cache/editable.log 2>&1 \
		|| { cat .cache/editable.log; exit 1; }

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	@# Run from build/ so mypy checks the mapped tree (chromabridge.*), not the bare core folder.
	cd build && ../$(VENV)/bin/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache

pytest: setup
	@# exit code 5 means "no tests collected": not a failure of the build
	$(VENV)/bin/pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]

test: lint typecheck pytest

# The inner loop: no `chroma run` server, no slow tests (markers: pyproject.toml; the
# conftest marks every test that uses the server). Under 2 minutes on a 2-core machine.
test-fast: setup
	$(VENV)/bin/pytest -q -m "not server and not slow" $(PYTEST_ARGS)

demo: setup
	@# Ingest examples/data into ./.chroma (local model, no download), then answer three
	@# questions through LangChain and three through LlamaIndex, printing the sources.
	@# A second run reports every document unchanged. TRACE=console (or otlp) traces them.
	$(PY) examples/make_data.py
	$(PY) examples/quickstart.py --path .chroma
	$(PY) examples/langchain_rag.py --path .chroma
	$(PY) examples/llamaindex_query_engine.py --path .chroma
	@echo "Inspect it in a browser: .venv/bin/chromabridge serve --path .chroma  (then open http://127.0.0.1:8000/?collection=harbor-point)"

bench: setup
	@# Text corpora (Debian's python3.11-doc) come with setup (scripts/setup.sh).
	@# The comparison contenders (stock splitters, ranx, psutil ...): the `bench` extra,
	@# through setup.sh so that its fixes (torch pin, broken torchvision removed) apply.
	EXTRAS=all,dev,bench bash scripts/setup.sh
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf build *.egg-info .mypy_cache .ruff_cache .pytest_cache

.PHONY: soak audit

# Long reliability runs, not part of `make test`: the 16-reader/1-writer test for 60 s
# and the fuzzers with 20x their CI examples (docs/reliability.md).
soak: setup
	CHROMABRIDGE_SOAK=1 $(VENV)/bin/pytest tests/test_reliability_*.py tests/test_fuzz_*.py \
		tests/test_security_*.py $(PYTEST_ARGS)

# Known-vulnerability audit of the installed environment: pip-audit with OSV's advisory
# data (PyPA's and GitHub's advisories). --strict makes a package that cannot be looked up
# fail the audit instead of passing unchecked. Offline: `make audit ADVISORIES=DIR`, DIR a
# checkout of https://github.com/pypa/advisory-database (or any folder of OSV records),
# which scripts/osv_local.py serves to pip-audit on loopback.
AUDIT = $(VENV)/bin/pip-audit --strict --progress-spinner off -s osv
audit: setup
ifdef ADVISORIES
	$(PY) scripts/osv_local.py $(ADVISORIES) -- $(AUDIT) --osv-url {url} $(AUDIT_ARGS)
else
	$(AUDIT) $(AUDIT_ARGS)
endif
