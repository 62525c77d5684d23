"""Short text specs for the CLI: embedders, chunkers and paths to load.

`local`, `openai:text-embedding-3-small`, `recursive:200:20:tokens`... are what a user
types; turning them into objects in one place keeps the CLI thin and lets the same
strings name the vector space a collection remembers (`Embedder.name` reads back as a
spec, so `query` can reopen a collection with the embedder that filled it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chromabridge.embedders import Embedder
from chromabridge.errors import ConfigError

__all__ = [
    "DEFAULT_CHUNKER",
    "DEFAULT_EMBEDDER",
    "SpecError",
    "default_chunker",
    "make_chunker",
    "make_embedder",
    "make_loaders",
    "spec_of",
]

DEFAULT_EMBEDDER = "local"
#: 200 tokens of the embedder's own tokenizer: inside all-MiniLM-L6-v2's 256-token window.
DEFAULT_CHUNKER = "recursive:200:20:tokens"


class SpecError(ConfigError):
    """A spec string that does not parse: the CLI shows it as a usage error of its option."""


def make_embedder(spec: str) -> Embedder:
    """`local`, `local:MODEL`, `openai:MODEL[@DIMENSIONS]`, `cohere:MODEL` or
    `clip[:MODEL]` (texts and images in one space; MODEL a hub name or a folder).

    The model is loaded (or the SDK client built) here; API keys come from the
    providers' usual environment variables.
    """
    kind, _, model = spec.partition(":")
    kind = kind.strip().lower()
    model = model.strip()
    if kind == "local":
        from chromabridge.embedders import LocalEmbedder

        return LocalEmbedder(model or None)
    if kind == "openai":
        from chromabridge.embedders import OpenAIEmbedder

        name, _, dims = model.partition("@")
        if dims and not dims.isdigit():
            raise SpecError(f"embedder {spec!r}: dimensions after '@' must be a number")
        return OpenAIEmbedder(
            name or "text-embedding-3-small", dimensions=int(dims) if dims else None
        )
    if kind == "cohere":
        from chromabridge.embedders import CohereEmbedder

        int8 = model.endswith(":int8")
        name, _, dims = model.removesuffix(":int8").partition("@")
        if dims and not dims.isdigit():
            raise SpecError(f"embedder {spec!r}: dimensions after '@' must be a number")
        return CohereEmbedder(
            name or "embed-english-v3.0",
            output_dimension=int(dims) if dims else None,
            embedding_types="int8" if int8 else "float",
        )
    if kind == "clip":
        from chromabridge.embedders import ClipEmbedder
        from chromabridge.embedders.clip import DEFAULT_CLIP_MODEL

        return ClipEmbedder(model or DEFAULT_CLIP_MODEL)
    raise SpecError(
        f"unknown embedder {spec!r}: use local, local:MODEL, openai:MODEL, cohere:MODEL "
        "or clip[:MODEL]"
    )


def spec_of(embedder_name: str) -> str | None:
    """The spec that rebuilds the embedder a collection recorded, when we can tell."""
    kind = embedder_name.partition(":")[0]
    if kind in ("local", "openai", "cohere", "clip") and "@unnormalized" not in embedder_name:
        return embedder_name
    return None


def default_chunker(embedder: Embedder | None) -> str:
    """`DEFAULT_CHUNKER`, or chunks of the embedder's whole window when that is smaller
    (CLIP reads 75 text tokens)."""
    inner = getattr(embedder, "inner", embedder)
    limit = getattr(inner, "max_text_tokens", None)
    if isinstance(limit, int) and limit < 200:
        return f"recursive:{limit}:{limit // 10}:tokens"
    return DEFAULT_CHUNKER


def _int(value: str, what: str, spec: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise SpecError(f"chunker {spec!r}: {what} must be a positive integer, got {value!r}")
    return int(value)


def make_chunker(spec: str, embedder: Embedder | None = None) -> Any:
    """`recursive:SIZE:OVERLAP[:chars|tokens]` or `sentence-window:N`.

    `tokens` counts with the embedder's own tokenizer when it has one (local models),
    else tiktoken's cl100k_base. A sentence window's longest sentence is bounded by the
    embedder's input limit.
    """
    from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker

    parts = spec.split(":")
    kind = parts[0].strip().lower()
    if kind == "recursive":
        if len(parts) not in (3, 4):
            raise SpecError(
                f"chunker {spec!r}: write recursive:SIZE:OVERLAP or recursive:SIZE:OVERLAP:tokens"
            )
        size = _int(parts[1], "SIZE", spec)
        overlap = int(parts[2]) if parts[2].isdigit() else -1
        if overlap < 0 or overlap >= size:
            raise SpecError(f"chunker {spec!r}: OVERLAP must be 0 or more and below SIZE")
        unit = parts[3] if len(parts) == 4 else "chars"
        if unit == "chars":
            return RecursiveChunker(size, overlap)
        if unit != "tokens":
            raise SpecError(f"chunker {spec!r}: the unit must be chars or tokens, not {unit!r}")
        inner = getattr(embedder, "inner", embedder)  # a CachedEmbedder's model
        tokenizer = getattr(inner, "tokenizer", None)
        return RecursiveChunker(size, overlap, length="tokens", tokenizer=tokenizer)
    if kind == "sentence-window":
        if len(parts) != 2:
            raise SpecError(f"chunker {spec!r}: write sentence-window:N")
        window = _int(parts[1], "N", spec)
        limit = embedder.max_input_tokens if embedder is not None else None
        return SentenceWindowChunker(window, max_sentence_chars=min(1000, limit or 1000))
    raise SpecError(
        f"unknown chunker {spec!r}: use recursive:SIZE:OVERLAP[:tokens] or sentence-window:N"
    )


def make_loaders(
    paths: list[Path],
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    workers: int = 1,
    images: bool = False,
    budgets: dict[str, Any] | None = None,
) -> list[Any]:
    """One loader per path: a directory tree, a text/markdown file, or any other file;
    with `images`, image files (and those in trees) load as image documents.

    `budgets` (`file_timeout`, `file_memory`) hold each file to its limits (None: the
    directory defaults); text and image files are read here, not parsed, and need none."""
    from chromabridge.images import IMAGE_SUFFIXES
    from chromabridge.loaders import (
        DEFAULT_FILE_MEMORY,
        DEFAULT_FILE_TIMEOUT,
        DirectoryLoader,
        FileLoader,
        ImageLoader,
        TextLoader,
    )
    from chromabridge.loaders.text import TEXT_SUFFIXES

    limits: dict[str, Any] = {
        "file_timeout": DEFAULT_FILE_TIMEOUT,
        "file_memory": DEFAULT_FILE_MEMORY,
    }
    limits.update(budgets or {})
    loaders: list[Any] = []
    for path in paths:
        if path.is_dir():
            loaders.append(
                DirectoryLoader(
                    path,
                    include=include or None,
                    exclude=exclude or (),
                    workers=workers,
                    images=images,
                    **limits,
                )
            )
        elif path.is_file():
            root = path.parent
            if images and path.suffix.lower() in IMAGE_SUFFIXES:
                loaders.append(ImageLoader(path, root=root))
            elif path.suffix.lower() in TEXT_SUFFIXES:
                loaders.append(TextLoader(path, root=root))
            else:
                loaders.append(FileLoader(path, root=root, **limits))
        else:
            raise ConfigError(f"{os.fspath(path)} does not exist; give files or directories")
    return loaders
