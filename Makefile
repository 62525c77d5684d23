# The README's commands. `make setup` is implied by the others.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False
export TIKTOKEN_CACHE_DIR := $(CURDIR)/.cache/tiktoken

.PHONY: setup test lint typecheck pytest demo bench clean

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

demo: setup
	@# Ingest examples/data into ./.chroma (local model, no download), then answer three
	@# questions through LangChain and three through LlamaIndex, printing the sources.
	@# A second run reports every document unchanged.
	$(PY) examples/make_data.py
	UNSTRUCTURED_DISABLE_NOTICE=1 $(PY) examples/quickstart.py --path .chroma
	$(PY) examples/langchain_rag.py --path .chroma
	$(PY) examples/llamaindex_query_engine.py --path .chroma

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf build *.egg-info .mypy_cache .ruff_cache .pytest_cache

.PHONY: soak audit

# Long reliability runs, not part of `make test`: the 16-reader/1-writer test for 60 s
# and the fuzzers with 20x their CI examples (docs/reliability.md).
soak: setup
	CHROMABRIDGE_SOAK=1 $(VENV)/bin/pytest tests/test_reliability_*.py tests/test_fuzz_*.py \
		tests/test_security_*.py $(PYTEST_ARGS)

# Known-vulnerability audit of the installed environment (pip-audit, PyPI advisory data).
# It needs to reach pypi.org's JSON API, so it is not part of `make test`; --strict makes
# an offline run fail instead of passing with every package skipped.
audit: setup
	$(VENV)/bin/pip-audit --strict --skip-editable --progress-spinner off $(AUDIT_ARGS)
