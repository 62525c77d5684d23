"""An offline stand-in for an LLM, shared by the examples: it answers by quoting.

With no API key and no network the examples still need something to turn retrieved
context into an answer. This picks the context sentence that shares the most words with
the question, which is honest about what retrieval found: if the right chunk was not
retrieved, the quote is visibly wrong.
"""

from __future__ import annotations

import re

__all__ = ["answer_from_prompt", "best_sentence"]

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")  # a wrapped line, not a paragraph break
_METADATA_LINE = re.compile(r"^[\w ]{1,30}: \S+$")  # "source: x.md" lines LlamaIndex adds
_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "many",
        "much",
        "of",
        "on",
        "or",
        "the",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "with",
    }
)


def _stem(word: str) -> str:
    """A crude stem, enough to match "book"/"booking" and "print"/"printer"/"prints"."""
    for suffix in ("ing", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:5]


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_sentence(question: str, context: str) -> str:
    """The sentence of `context` with the most words in common with `question`."""
    wanted = _words(question)
    best, best_score = "I could not find that in the documents.", 0
    for sentence in _SENTENCE.split(_LINE_BREAK.sub(" ", context)):
        sentence = sentence.strip()
        if not sentence.endswith((".", "!", "?")) or _METADATA_LINE.match(sentence):
            continue  # headings, table rows and LlamaIndex's metadata lines
        score = len(wanted & _words(sentence))
        if score > best_score:
            best, best_score = sentence, score
    return best


def answer_from_prompt(prompt: str) -> str:
    """Answer a RAG prompt ("...context... Question:/Query: ... Answer:") by quoting."""
    match = list(re.finditer(r"(?:Question|Query):\s*(.+?)\s*(?:\nAnswer:|$)", prompt, re.S))
    if not match:
        return best_sentence(prompt, prompt)
    last = match[-1]
    return best_sentence(last.group(1), prompt[: last.start()])
