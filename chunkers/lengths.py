"""How chunk sizes are measured: characters, tokens of a tokenizer, or a user callable.

Every backend counts a *batch* of pieces of one text at once. The recursive algorithm
needs the exact length of each candidate piece (LangChain sums per-piece lengths, so
that is what identical results require); counting each piece once, in one call per
recursion level, replaces LangChain's up to three counts of every piece. Short pieces
are memoised, so a length callable must be a pure function of its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from operator import sub
from typing import Any, Protocol, runtime_checkable

from chromabridge.errors import ChunkerError

__all__ = ["LengthCounter", "resolve_length"]

#: Pieces up to this long are memoised: short pieces ("\n\n", one word) repeat a lot.
_MEMO_MAX_CHARS = 64
#: The memo is dropped when it grows past this many entries (bounded memory).
_MEMO_MAX_ENTRIES = 200_000


@runtime_checkable
class LengthCounter(Protocol):
    """Measures spans of one text; `name` says what was measured (for messages)."""

    name: str

    def counts(self, text: str, starts: Sequence[int], ends: Sequence[int]) -> list[int]: ...

    def count(self, piece: str) -> int: ...


class CharCounter:
    """Length in characters: `len`, without slicing anything."""

    name = "chars"

    def counts(self, text: str, starts: Sequence[int], ends: Sequence[int]) -> list[int]:
        return list(map(sub, ends, starts))

    def count(self, piece: str) -> int:
        return len(piece)


class _PieceCounter:
    """Counts by calling a one-piece function, memoising short pieces."""

    def __init__(self, name: str, fn: Callable[[str], int]) -> None:
        self.name = name
        self._fn = fn
        self._memo: dict[str, int] = {}

    def count(self, piece: str) -> int:
        if len(piece) > _MEMO_MAX_CHARS:
            return self._fn(piece)
        found = self._memo.get(piece)
        if found is None:
            found = self._memo[piece] = self._fn(piece)
        return found

    def counts(self, text: str, starts: Sequence[int], ends: Sequence[int]) -> list[int]:
        fn, memo, out = self._fn, self._memo, []
        if len(memo) > _MEMO_MAX_ENTRIES:
            memo.clear()
        for start, end in zip(starts, ends, strict=True):
            piece = text[start:end]
            if end - start > _MEMO_MAX_CHARS:
                out.append(fn(piece))
                continue
            found = memo.get(piece)
            if found is None:
                found = memo[piece] = fn(piece)
            out.append(found)
        return out


class HuggingFaceCounter(_PieceCounter):
    """Tokens of a Hugging Face tokenizer, as LangChain's `from_huggingface_tokenizer`.

    A batch goes through the tokenizer in one call (the fast tokenizers run it in Rust).
    """

    def __init__(self, tokenizer: Any) -> None:
        name = str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)
        super().__init__(name, lambda piece: len(tokenizer.tokenize(piece)))
        self._tokenizer = tokenizer

    def counts(self, text: str, starts: Sequence[int], ends: Sequence[int]) -> list[int]:
        if len(starts) < 8:
            return super().counts(text, starts, ends)
        ids = self._tokenizer(
            [text[start:end] for start, end in zip(starts, ends, strict=True)],
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )["input_ids"]
        return [len(one) for one in ids]


def _tiktoken_counter(name: str) -> _PieceCounter:
    try:
        import tiktoken
    except ImportError as exc:  # pragma: no cover - tiktoken ships with the openai extra
        raise ChunkerError(
            f"tokenizer {name!r} needs tiktoken: pip install 'chromabridge[openai]'"
        ) from exc
    try:
        encoding = tiktoken.get_encoding(name)
    except ValueError:
        try:
            encoding = tiktoken.encoding_for_model(name)
        except KeyError as exc:
            known = ", ".join(sorted(tiktoken.list_encoding_names()))
            raise ChunkerError(
                f"unknown tokenizer {name!r}: give a tiktoken encoding ({known}), an OpenAI "
                "model name, a Hugging Face tokenizer object or a callable"
            ) from exc
    except Exception as exc:  # network or cache failures while fetching the BPE file
        raise ChunkerError(
            f"could not load tiktoken encoding {name!r} ({exc}); offline machines need its "
            "file in TIKTOKEN_CACHE_DIR"
        ) from exc
    return tiktoken_counter(encoding)


def tiktoken_counter(encoding: Any) -> _PieceCounter:
    """Tokens of a `tiktoken.Encoding`; special-token text counts as ordinary text."""
    public = encoding.encode_ordinary
    # The Rust encoder itself, skipping two Python frames per piece; the public method
    # stays the fallback for text it refuses (lone surrogates).
    core = getattr(getattr(encoding, "_core_bpe", None), "encode_ordinary", public)

    def count(piece: str) -> int:
        try:
            return len(core(piece))
        except UnicodeEncodeError:
            return len(public(piece))

    return _PieceCounter(str(encoding.name), count)


def _size(tokens: object) -> int:
    """A tokenizer callable may return a count or the tokens themselves."""
    if isinstance(tokens, int):
        return tokens
    if isinstance(tokens, Sized):
        return len(tokens)
    raise ChunkerError(f"tokenizer callable returned {type(tokens).__name__}, not tokens")


def resolve_length(length: object, tokenizer: object = None) -> LengthCounter:
    """Turn the user's `length=` / `tokenizer=` pair into one counter.

    `length` is "chars", "tokens" (with `tokenizer` a tiktoken encoding name, a
    `tiktoken.Encoding` or a Hugging Face tokenizer; default "cl100k_base") or a callable.
    """
    if isinstance(length, LengthCounter):
        return length
    if callable(length):
        fn: Callable[[str], int] = length
        return _PieceCounter(getattr(length, "__name__", "callable"), fn)
    if length == "chars":
        if tokenizer is not None:
            raise ChunkerError("tokenizer= is only used with length='tokens'")
        return CharCounter()
    if length != "tokens":
        raise ChunkerError(f"length must be 'chars', 'tokens' or a callable, got {length!r}")
    if tokenizer is None:
        tokenizer = "cl100k_base"
    if isinstance(tokenizer, str):
        return _tiktoken_counter(tokenizer)
    if hasattr(tokenizer, "encode_ordinary") and hasattr(tokenizer, "name"):
        return tiktoken_counter(tokenizer)
    if hasattr(tokenizer, "tokenize") and callable(tokenizer):
        return HuggingFaceCounter(tokenizer)
    if callable(tokenizer):
        tokenize: Callable[[str], object] = tokenizer
        return _PieceCounter(
            getattr(tokenizer, "__name__", "callable"), lambda piece: _size(tokenize(piece))
        )
    raise ChunkerError(
        f"unsupported tokenizer {tokenizer!r}: give a tiktoken encoding name, a "
        "tiktoken.Encoding, a Hugging Face tokenizer or a callable returning a length"
    )
