"""Sentence splitting and SentenceWindowChunker: LlamaIndex's metadata, bounded sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chromabridge import Document
from chromabridge.chunkers import SentenceWindowChunker, sentence_spans
from chromabridge.errors import ChunkerError

PYDOC = Path("/usr/share/doc/python3.11/html/_sources")


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Dr. Smith met Mrs. Jones. They talked.", ["Dr. Smith met Mrs. Jones.", "They talked."]),
        ("It costs 3.50 dollars. Pi is 3.14159.", ["It costs 3.50 dollars.", "Pi is 3.14159."]),
        (
            "See https://docs.python.org/3.11/library/os.path.html for more. Then stop.",
            ["See https://docs.python.org/3.11/library/os.path.html for more.", "Then stop."],
        ),
        ("Use e.g. this one. Or i.e. that.", ["Use e.g. this one.", "Or i.e. that."]),
        ("Wait... and then it came. Done.", ["Wait... and then it came.", "Done."]),
        ("Wait... What? Yes.", ["Wait...", "What?", "Yes."]),
        ("J. R. R. Tolkien wrote it. Fine.", ["J. R. R. Tolkien wrote it.", "Fine."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("(As noted.) Next.", ["(As noted.)", "Next."]),
        (
            "Call os.path.join(a, b). It returns a str.",
            ["Call os.path.join(a, b).", "It returns a str."],
        ),
        (
            "See No. 5 and Fig. 3 there. No. Not that.",
            ["See No. 5 and Fig. 3 there.", "No.", "Not that."],
        ),
        ("apples, pears, etc. are fruit. Yes.", ["apples, pears, etc. are fruit.", "Yes."]),
        ("Title\n\nFirst para. Second.", ["Title", "First para.", "Second."]),
        (
            "Items:\n- one\n- two. Still two\n3) three",
            ["Items:", "- one", "- two.", "Still two", "3) three"],
        ),
        (">>> x = 1.5\n>>> print(x)\n1.5", [">>> x = 1.5", ">>> print(x)\n1.5"]),
        (
            "Code:\n```\nx = 1. Y = 2.\n\nz = 3\n```\nAfter.",
            ["Code:", "```\nx = 1. Y = 2.\n\nz = 3\n```", "After."],
        ),
        ("", []),
        (" \n\n \t ", []),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab .!?\n\t\"')(`>-1", "...", "Dr. ", "```", "e.g. "])).map("".join)
)
def test_sentence_spans_are_ordered_stripped_slices(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        previous_end = end
    # Nothing but whitespace is lost between sentences.
    covered = "".join(text[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(text.split())


def test_window_metadata_matches_llamaindex() -> None:
    from llama_index.core import Document as LIDocument
    from llama_index.core.node_parser import SentenceWindowNodeParser

    text = " ".join(f"Sentence number {i} is here." for i in range(12))
    chunker = SentenceWindowChunker(window_size=2)
    ours = chunker.chunk(Document(id="d", text=text))
    stock = SentenceWindowNodeParser.from_defaults(
        sentence_splitter=chunker.split_text, window_size=2
    ).get_nodes_from_documents([LIDocument(text=text)])
    assert [c.text for c in ours] == [n.text for n in stock]
    for chunk, node in zip(ours, stock, strict=True):
        assert chunk.metadata["window"] == node.metadata["window"]
        assert chunk.metadata["original_text"] == node.metadata["original_text"]
    assert ours[0].metadata["window"] == " ".join(c.text for c in ours[:3])
    assert ours[5].metadata["window"] == " ".join(c.text for c in ours[3:8])


def test_metadata_replacement_postprocessor_swaps_in_the_window() -> None:
    from llama_index.core import Document as LIDocument
    from llama_index.core.postprocessor import MetadataReplacementPostProcessor
    from llama_index.core.schema import MetadataMode, NodeWithScore

    text = "Alpha is first. Beta is second. Gamma is third. Delta is fourth."
    parser = SentenceWindowChunker(window_size=1).as_llamaindex()
    nodes = parser.get_nodes_from_documents([LIDocument(text=text)])
    # The window stays out of what gets embedded and what an LLM sees by default.
    assert nodes[1].get_content(metadata_mode=MetadataMode.EMBED) == "Beta is second."
    assert "Alpha" not in nodes[1].get_content(metadata_mode=MetadataMode.LLM)
    post = MetadataReplacementPostProcessor(target_metadata_key="window")
    out = post.postprocess_nodes([NodeWithScore(node=nodes[1], score=1.0)])
    assert out[0].node.get_content() == "Alpha is first. Beta is second. Gamma is third."


def test_long_sentences_are_bounded_at_line_breaks() -> None:
    table = "\n".join(f"| row {i} | value {i * 7} | note |" for i in range(200))
    text = f"Intro sentence. Then a table follows:\n{table}\nThe end."
    chunker = SentenceWindowChunker(max_sentence_chars=300)
    chunks = chunker.chunk(Document(id="t", text=text))
    assert max(len(c.text) for c in chunks) <= 300
    assert all(text[c.start : c.end] == c.text for c in chunks)  # type: ignore[misc]
    assert len(chunks) > 20
    # Cut at line breaks, not inside a row.
    assert all(text[c.end] == "\n" for c in chunks[1:-1])  # type: ignore[index]
    assert chunks[0].text == "Intro sentence." and chunks[-1].text.endswith("The end.")


@pytest.mark.slow
def test_ten_megabyte_line_without_punctuation() -> None:
    line = "word " * 2_000_000
    spans = SentenceWindowChunker(max_sentence_chars=1000).split_spans(line)
    assert max(end - start for start, end in spans) <= 1000
    assert spans[0][0] == 0 and spans[-1][1] == len(line) - 1


def test_chunk_offsets_slice_back_and_ids_are_stable() -> None:
    text = "Yes. No. Yes. Maybe so.\n\nNo."
    doc = Document(id="d", text=text, metadata={"k": "v"})
    chunker = SentenceWindowChunker(window_size=1)
    chunks = chunker.chunk(doc)
    assert [c.text for c in chunks] == ["Yes.", "No.", "Yes.", "Maybe so.", "No."]
    assert [text[c.start : c.end] for c in chunks] == [c.text for c in chunks]  # type: ignore[misc]
    assert [c.id for c in chunks] == [c.id for c in chunker.chunk_many([doc])]
    assert chunks[2].metadata["k"] == "v" and chunks[2].metadata["window"] == "No. Yes. Maybe so."


@pytest.mark.parametrize(
    "kwargs",
    [{"window_size": 0}, {"window_size": -1}, {"max_sentence_chars": 0}, {"window_size": 1.5}],
)
def test_bad_parameters_raise_chunker_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ChunkerError):
        SentenceWindowChunker(**kwargs)  # type: ignore[arg-type]


def test_empty_and_whitespace_only_documents() -> None:
    chunker = SentenceWindowChunker()
    assert chunker.chunk(Document(id="e", text="")) == []
    assert chunker.split_text("\n\n   \n") == []


@pytest.mark.slow
def test_python_docs_sentences_are_bounded() -> None:
    if not PYDOC.is_dir():
        pytest.skip("python3.11-doc not installed: apt-get install -y python3.11-doc")
    chunker = SentenceWindowChunker(max_sentence_chars=1000)
    count = 0
    for path in sorted(PYDOC.rglob("*.txt"))[::3]:
        text = path.read_text(encoding="utf-8")
        spans = chunker.split_spans(text)
        assert all(0 < end - start <= 1000 for start, end in spans), path
        count += len(spans)
    assert count > 30_000


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["Word", "x" * 40, ". ", "\n", "\n\n", " ", "- ", "e.g. ", "3.5", "?"])
    ).map("".join),
    window=st.integers(1, 4),
    limit=st.integers(1, 60),
)
def test_windows_and_bounds_hold_for_any_text(text: str, window: int, limit: int) -> None:
    chunker = SentenceWindowChunker(window, max_sentence_chars=limit)
    chunks = chunker.chunk(Document(id="p", text=text))
    texts = [c.text for c in chunks]
    for i, chunk in enumerate(chunks):
        assert text[chunk.start : chunk.end] == chunk.text  # type: ignore[misc]
        assert 0 < len(chunk.text) <= limit
        assert chunk.metadata["original_text"] == chunk.text
        assert chunk.metadata["window"] == " ".join(texts[max(0, i - window) : i + window + 1])
