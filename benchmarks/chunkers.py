"""Chunker throughput, side by side, in one run: `.venv/bin/python benchmarks/chunkers.py`.

Corpus: the Python 3.11 documentation sources from Debian's `python3.11-doc`
(`apt-get install -y python3.11-doc`; 497 files, 11 M characters). Prints a Markdown
table of MB/s (MB = 10^6 bytes of UTF-8 text) per contender and group, by CPU time
(stable on a shared machine) and by wall time. All contenders run in turn, `--repeat`
rounds (default 3), and each one's best run counts.
Also checks that our recursive chunks equal LangChain's on the whole corpus.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path("/usr/share/doc/python3.11/html/_sources")

# Offline machines: the tiktoken BPE file lives in the repo cache that `make setup` seeds.
if (REPO / ".cache" / "tiktoken").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO / ".cache" / "tiktoken"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class Contender:
    group: str
    name: str
    run: Callable[[Sequence[str]], int]  # returns the number of chunks
    note: str = ""


def contenders(encoding: Any) -> list[Contender]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from llama_index.core import Document as LIDocument
    from llama_index.core.node_parser import SentenceSplitter, SentenceWindowNodeParser

    from chromabridge import Document
    from chromabridge.chunkers import RecursiveChunker, SentenceWindowChunker

    lc_chars = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    lc_tokens = RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        "cl100k_base", chunk_size=256, chunk_overlap=50
    )
    ours_chars = RecursiveChunker(1000, 200)
    ours_tokens = RecursiveChunker(256, 50, length="tokens", tokenizer="cl100k_base")
    window = SentenceWindowChunker(window_size=3)

    def strings(split: Callable[[str], list[Any]]) -> Callable[[Sequence[str]], int]:
        return lambda texts: sum(len(split(t)) for t in texts)

    def docs(texts: Sequence[str]) -> list[Document]:
        return [Document(id=str(i), text=t) for i, t in enumerate(texts)]

    def li_docs(texts: Sequence[str]) -> list[LIDocument]:
        return [LIDocument(text=t, id_=str(i)) for i, t in enumerate(texts)]

    out: list[Contender] = []

    def add(group: str, name: str, run: Callable[[Sequence[str]], int], note: str = "") -> None:
        out.append(Contender(group, name, run, note))

    chars, tokens, window_group = "chars 1000/200", "tokens 256/50", "sentence window 3"
    add(chars, "LangChain RecursiveCharacterTextSplitter", strings(lc_chars.split_text))
    add(chars, "chromabridge RecursiveChunker.split_text", strings(ours_chars.split_text))
    add(
        chars,
        "chromabridge RecursiveChunker.chunk",
        lambda t: sum(len(ours_chars.chunk(d)) for d in docs(t)),
        "Chunk objects: ids, hashes, offsets",
    )
    add(
        tokens,
        "tiktoken cl100k_base, one encode pass",
        strings(encoding.encode_ordinary),
        "no chunking",
    )
    add(
        tokens,
        "LangChain RecursiveCharacterTextSplitter.from_tiktoken_encoder",
        strings(lc_tokens.split_text),
    )
    add(tokens, "chromabridge RecursiveChunker(length='tokens')", strings(ours_tokens.split_text))
    add(
        tokens,
        "LlamaIndex SentenceSplitter",
        strings(SentenceSplitter(chunk_size=256, chunk_overlap=50).split_text),
        "its own algorithm",
    )
    add(
        window_group,
        "LlamaIndex SentenceWindowNodeParser",
        lambda t: len(
            SentenceWindowNodeParser.from_defaults(window_size=3).get_nodes_from_documents(
                li_docs(t)
            )
        ),
        "NLTK Punkt sentences; TextNodes",
    )
    add(
        window_group,
        "chromabridge SentenceWindowChunker.chunk_many",
        lambda t: sum(1 for _ in window.chunk_many(docs(t))),
        "Chunk objects",
    )
    add(
        window_group,
        "chromabridge SentenceWindowChunker.as_llamaindex()",
        lambda t: len(window.as_llamaindex().get_nodes_from_documents(li_docs(t))),
        "TextNodes through LlamaIndex's node post-processing",
    )
    try:
        from semantic_text_splitter import TextSplitter
    except ImportError:
        print("(semantic-text-splitter not installed: pip install '.[bench]')", file=sys.stderr)
    else:
        sts_chars = TextSplitter((800, 1000), overlap=200)
        sts_tokens = TextSplitter.from_tiktoken_model("gpt-4", (200, 256), overlap=50)
        add(chars, "semantic-text-splitter", strings(sts_chars.chunks), "its own algorithm")
        add(tokens, "semantic-text-splitter", strings(sts_tokens.chunks), "its own algorithm")
    try:
        from chonkie import RecursiveChunker as ChonkieRecursive
    except ImportError:
        print("(chonkie not installed: pip install '.[bench]')", file=sys.stderr)
    else:
        ch_chars = ChonkieRecursive(tokenizer="character", chunk_size=1000)
        ch_tokens = ChonkieRecursive(tokenizer=encoding, chunk_size=256)
        add(chars, "chonkie RecursiveChunker", strings(ch_chars.chunk), "no overlap")
        add(tokens, "chonkie RecursiveChunker", strings(ch_tokens.chunk), "no overlap")
    return out


def check_identical(texts: Sequence[str]) -> list[str]:
    """Our recursive chunks against LangChain's on every file, both modes."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from chromabridge.chunkers import RecursiveChunker

    pairs = [
        ("chars 1000/200", RecursiveChunker(1000, 200), RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200)),
        ("tokens 256/50", RecursiveChunker(256, 50, length="tokens"),
         RecursiveCharacterTextSplitter.from_tiktoken_encoder(
            "cl100k_base", chunk_size=256, chunk_overlap=50)),
    ]  # fmt: skip
    lines = []
    for label, ours, theirs in pairs:
        differ = sum(ours.split_text(t) != theirs.split_text(t) for t in texts)
        lines.append(f"{label}: {len(texts) - differ}/{len(texts)} files identical to LangChain")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files")
    parser.add_argument("--only", default="", help="run contenders whose name contains this")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; best counts")
    args = parser.parse_args(argv)
    files = sorted(args.corpus.rglob("*.txt")) if args.corpus.is_dir() else []
    if not files:
        print(
            f"corpus not found at {args.corpus}: install it with\n"
            "  sudo apt-get update && sudo apt-get install -y python3.11-doc\n"
            "or pass --corpus DIR (any folder of .txt files)",
            file=sys.stderr,
        )
        return 2
    if args.limit:
        files = files[: args.limit]
    texts = [f.read_text(encoding="utf-8") for f in files]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6

    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    print(
        f"corpus: {args.corpus} ({len(texts)} files, {sum(map(len, texts)) / 1e6:.1f} M chars, "
        f"{megabytes:.1f} MB); python {sys.version.split()[0]}; {os.cpu_count()} CPUs\n"
    )
    chosen = [c for c in contenders(encoding) if args.only.lower() in c.name.lower()]
    # Round-robin repeats: load from other processes then hits every contender alike.
    # Each keeps its best run, in CPU time (what the work costs, robust on a shared
    # machine) and in wall time (what a user waits).
    cpu = {id(c): float("inf") for c in chosen}
    wall = dict(cpu)
    chunks = dict.fromkeys(cpu, 0)
    for round_ in range(max(1, args.repeat)):
        for c in chosen:
            start, start_cpu = time.perf_counter(), time.process_time()
            chunks[id(c)] = c.run(texts)
            seconds_cpu = time.process_time() - start_cpu
            seconds = time.perf_counter() - start
            cpu[id(c)] = min(cpu[id(c)], seconds_cpu)
            wall[id(c)] = min(wall[id(c)], seconds)
            print(f"  round {round_ + 1}: {c.group:18} {c.name:62} "
                  f"{megabytes / seconds_cpu:7.2f} MB/s cpu {megabytes / seconds:7.2f} wall",
                  file=sys.stderr)  # fmt: skip

    print(
        "| group | contender | chunks | CPU s | MB/s (CPU) | MB/s (wall) "
        "| vs LangChain or LlamaIndex (CPU / wall) | note |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for group in dict.fromkeys(c.group for c in chosen):
        members = [c for c in chosen if c.group == group]
        base = next(
            (c for c in members if c.name.startswith(("LangChain", "LlamaIndex Sent"))), None
        )
        for c in members:
            ratio = (
                f"{cpu[id(base)] / cpu[id(c)]:.2f}x / {wall[id(base)] / wall[id(c)]:.2f}x"
                if base
                else ""
            )
            print(
                f"| {group} | {c.name} | {chunks[id(c)]} | {cpu[id(c)]:.2f} "
                f"| {megabytes / cpu[id(c)]:.2f} | {megabytes / wall[id(c)]:.2f} "
                f"| {ratio} | {c.note} |"
            )
    if not args.only:
        print()
        for line in check_identical(texts):
            print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
