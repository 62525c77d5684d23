"""SentenceWindowChunker: one chunk per sentence, its neighbours kept in metadata.

The metadata keys and the window text are LlamaIndex's `SentenceWindowNodeParser`
conventions (`window` = the sentence with `window_size` sentences each side, joined by
spaces; `original_text` = the sentence), so `MetadataReplacementPostProcessor(
target_metadata_key="window")` works on our chunks, in LlamaIndex or read back from
Chroma. Unlike LlamaIndex, a "sentence" is bounded: code blocks and tables with no
sentence punctuation are cut at `max_sentence_chars` (recursively, at line breaks first).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from chromabridge.errors import ChunkerError

from .base import BaseChunker, Span
from .recursive import RecursiveChunker
from .sentences import sentence_spans

__all__ = ["SentenceWindowChunker", "WINDOW_KEY", "ORIGINAL_TEXT_KEY"]

WINDOW_KEY = "window"
ORIGINAL_TEXT_KEY = "original_text"


class SentenceWindowChunker(BaseChunker):
    """Sentences as chunks; `window` metadata holds the context to show an LLM."""

    def __init__(
        self,
        window_size: int = 3,
        max_sentence_chars: int = 1000,
        *,
        window_metadata_key: str = WINDOW_KEY,
        original_text_metadata_key: str = ORIGINAL_TEXT_KEY,
    ) -> None:
        for name, value in (
            ("window_size", window_size),
            ("max_sentence_chars", max_sentence_chars),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ChunkerError(f"{name} must be a positive int, got {value!r}")
        self.window_size = window_size
        self.max_sentence_chars = max_sentence_chars
        self.window_metadata_key = window_metadata_key
        self.original_text_metadata_key = original_text_metadata_key
        self.hidden_metadata_keys = (window_metadata_key, original_text_metadata_key)
        self._bound = RecursiveChunker(max_sentence_chars, 0)

    def __repr__(self) -> str:
        return (
            f"SentenceWindowChunker(window_size={self.window_size}, "
            f"max_sentence_chars={self.max_sentence_chars})"
        )

    def split_spans(self, text: str) -> list[Span]:
        limit = self.max_sentence_chars
        spans: list[Span] = []
        for start, end in sentence_spans(text):
            if end - start <= limit:
                spans.append((start, end))
                continue
            spans.extend(
                (start + a, start + b) for a, b in self._bound.split_spans(text[start:end])
            )
        return spans

    def chunk_metadata(self, pieces: Sequence[str]) -> list[dict[str, Any]]:
        # Windows are slices of all sentences joined once, not one join per sentence.
        joined = " ".join(pieces)
        starts = list(accumulate((len(p) + 1 for p in pieces), initial=0))
        last, w = len(pieces) - 1, self.window_size
        window_key, text_key = self.window_metadata_key, self.original_text_metadata_key
        return [
            {
                window_key: joined[starts[max(0, i - w)] : starts[min(last, i + w) + 1] - 1],
                text_key: piece,
            }
            for i, piece in enumerate(pieces)
        ]
