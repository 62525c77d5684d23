"""RecursiveChunker: LangChain's recursive character algorithm, on offsets.

The algorithm is LangChain's `RecursiveCharacterTextSplitter` step for step (first
separator present in the text, split, merge small pieces with overlap, recurse into big
ones), so the same parameters give the same chunks. What differs is bookkeeping: pieces
are `(start, end)` offsets into the document, so chunks slice back exactly, and each
candidate piece is measured once per level in one batch instead of three or more times
(LangChain re-measures every piece while merging and again while popping the overlap).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Literal

from chromabridge.errors import ChunkerError

from .base import BaseChunker, Span
from .languages import separators_for
from .lengths import CharCounter, LengthCounter, resolve_length

__all__ = ["RecursiveChunker", "DEFAULT_SEPARATORS"]

DEFAULT_SEPARATORS = ("\n\n", "\n", " ", "")

KeepSeparator = bool | Literal["start", "end"]
Length = Literal["chars", "tokens"] | Callable[[str], int] | LengthCounter


class _Separator:
    """One separator: how to find it and how to split on it (keeping the matches)."""

    __slots__ = ("raw", "search", "split")

    def __init__(self, raw: str, is_regex: bool) -> None:
        self.raw = raw
        pattern = raw if is_regex else re.escape(raw)
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ChunkerError(f"separator {raw!r} is not a valid regular expression") from exc
        if compiled.groups:
            raise ChunkerError(
                f"separator {raw!r} has capturing groups; write them as (?:...) instead"
            )
        self.search = compiled.search if raw else None
        self.split = re.compile(f"({pattern})").split


class RecursiveChunker(BaseChunker):
    """Split text recursively by separators until every piece fits `chunk_size`.

    `length` is "chars", "tokens" (counted with `tokenizer`: a tiktoken encoding name
    such as "cl100k_base" (the default), a `tiktoken.Encoding`, a Hugging Face tokenizer
    such as `LocalEmbedder().tokenizer`, or a callable) or a callable `str -> int`.
    A callable must be pure: short pieces' lengths are memoised.
    `language` ("markdown", "python", "html", "rst") picks LangChain's separator preset.
    `keep_separator=False` returns document slices, so where LangChain collapses a run of
    separators into one its chunk text is not in the document and ours differs.
    Custom `separators` without `""` (the last resort: cut anywhere) can leave pieces that
    no separator splits, and such a piece becomes a chunk longer than `chunk_size`, as in
    LangChain. The pipeline's size check against the embedder does not see those.
    """

    def __init__(
        self,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        separators: Sequence[str] | None = None,
        *,
        length: Length = "chars",
        tokenizer: object = None,
        keep_separator: KeepSeparator = True,
        is_separator_regex: bool = False,
        language: object = None,
        strip_whitespace: bool = True,
    ) -> None:
        _check_sizes(chunk_size, chunk_overlap)
        if keep_separator not in (True, False, "start", "end"):
            raise ChunkerError(
                f"keep_separator must be True, False, 'start' or 'end', got {keep_separator!r}"
            )
        if language is not None:
            if separators is not None:
                raise ChunkerError("give separators= or language=, not both")
            separators = separators_for(language)
            is_separator_regex = True
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.separators = list(separators or DEFAULT_SEPARATORS)
        self.keep_separator = keep_separator
        self.strip_whitespace = strip_whitespace
        self.length = resolve_length(length, tokenizer)
        self._seps = [_Separator(s, is_separator_regex) for s in self.separators]
        self._sep_len: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"RecursiveChunker(chunk_size={self.chunk_size}, chunk_overlap="
            f"{self.chunk_overlap}, separators={self.separators!r}, length="
            f"{self.length.name!r}, keep_separator={self.keep_separator!r}, "
            f"strip_whitespace={self.strip_whitespace!r})"
        )

    def split_spans(self, text: str) -> list[Span]:
        out: list[Span] = []
        if text:
            self._split(text, 0, len(text), 0, out)
        return out

    def _split(self, text: str, start: int, end: int, level: int, out: list[Span]) -> None:
        sub = text[start:end]
        seps = self._seps
        chosen, rest = len(seps) - 1, len(seps)  # LangChain's fall-through: last, no more
        for i in range(level, len(seps)):
            search = seps[i].search
            if search is None:
                chosen = i
                break
            if search(sub):
                chosen, rest = i, i + 1
                break
        sep = seps[chosen]
        if sep.search is None and self._char_windows(text, start, end, out):
            return
        starts, ends = self._pieces(sub, start, sep)
        counts = self.length.counts(text, starts, ends)
        merge_len = self._merge_len("" if self.keep_separator else sep.raw)
        size = self.chunk_size
        good = 0  # pieces[good:i] are small and wait to be merged
        for i, n in enumerate(counts):
            if n < size:
                continue
            if good < i:
                self._merge(text, starts, ends, counts, good, i, merge_len, out)
            good = i + 1
            if rest < len(seps):
                self._split(text, starts[i], ends[i], rest, out)
            else:
                out.append((starts[i], ends[i]))
        if good < len(counts):
            self._merge(text, starts, ends, counts, good, len(counts), merge_len, out)

    def _char_windows(self, text: str, start: int, end: int, out: list[Span]) -> bool:
        """Character-level split, in closed form when lengths are characters.

        Merging one-character pieces yields windows of `chunk_size` every
        `chunk_size - chunk_overlap` characters; computing them directly keeps a 10 MB
        line without spaces from becoming ten million pieces.
        """
        if not isinstance(self.length, CharCounter) or self.chunk_size == 1:
            return False
        size, step = self.chunk_size, self.chunk_size - self.chunk_overlap
        lo = start
        while lo + size < end:
            self._emit(text, lo, lo + size, out)
            lo += step
        self._emit(text, lo, end, out)
        return True

    def _pieces(self, sub: str, offset: int, sep: _Separator) -> tuple[list[int], list[int]]:
        """Offsets of LangChain's `_split_text_with_regex` pieces (empty ones dropped)."""
        if sep.search is None:
            starts = list(range(offset, offset + len(sub)))
            return starts, [i + 1 for i in starts]
        parts = sep.split(sub)  # text, separator, text, separator, ..., text
        cum = list(accumulate(map(len, parts), initial=offset))  # cum[k] = start of parts[k]
        keep = self.keep_separator
        if keep == "end":  # each separator ends the piece before it
            ends = [*cum[2:-1:2], cum[-1]]
            starts = [offset, *ends[:-1]]
        elif keep:  # True or "start": each separator begins the piece after it
            ends = cum[1::2]
            starts = [offset, *ends[:-1]]
        else:  # separators dropped
            starts, ends = cum[0::2], cum[1::2]
        if len(starts) != len(ends):  # pragma: no cover - one group, so parts are odd
            raise AssertionError("separator split lost its pairing")
        kept = [k for k in range(len(starts)) if ends[k] > starts[k]]
        if len(kept) == len(starts):
            return starts, ends
        return [starts[k] for k in kept], [ends[k] for k in kept]

    def _merge_len(self, separator: str) -> int:
        found = self._sep_len.get(separator)
        if found is None:
            found = self._sep_len[separator] = self.length.count(separator)
        return found

    def _merge(
        self,
        text: str,
        starts: list[int],
        ends: list[int],
        counts: list[int],
        first: int,
        stop: int,
        sep_len: int,
        out: list[Span],
    ) -> None:
        """LangChain's `_merge_splits` over pieces[first:stop]: greedy, with overlap.

        The current chunk is pieces[lo:i]; popping its head is `lo += 1`.
        """
        size, overlap = self.chunk_size, self.chunk_overlap
        lo, total = first, 0
        for i in range(first, stop):
            n = counts[i]
            if i > lo and total + n + sep_len > size:
                self._emit(text, starts[lo], ends[i - 1], out)
                while total > overlap or (
                    total + n + (sep_len if i > lo else 0) > size and total > 0
                ):
                    total -= counts[lo] + (sep_len if i - lo > 1 else 0)
                    lo += 1
            total += n + (sep_len if i > lo else 0)
        if lo < stop:
            self._emit(text, starts[lo], ends[stop - 1], out)

    def _emit(self, text: str, start: int, end: int, out: list[Span]) -> None:
        if self.strip_whitespace and (text[start].isspace() or text[end - 1].isspace()):
            piece = text[start:end]
            stripped = piece.lstrip()
            start += len(piece) - len(stripped)
            end = start + len(stripped.rstrip())
        if end > start:
            out.append((start, end))


def _check_sizes(chunk_size: int, chunk_overlap: int) -> None:
    for name, value in (("chunk_size", chunk_size), ("chunk_overlap", chunk_overlap)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ChunkerError(f"{name} must be an int, got {value!r}")
    if chunk_size <= 0:
        raise ChunkerError(f"chunk_size must be > 0, got {chunk_size}")
    if chunk_overlap < 0:
        raise ChunkerError(f"chunk_overlap must be >= 0, got {chunk_overlap}")
    if chunk_overlap >= chunk_size:
        raise ChunkerError(
            f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})"
        )
