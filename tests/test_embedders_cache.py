"""CachedEmbedder: persistent, keyed by vector space, shared safely between processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from chromabridge.embedders import CachedEmbedder, as_embedder
from chromabridge.embedders.native import NativeEmbedder


class Counting(NativeEmbedder):
    """A deterministic embedder that records what it was asked to embed."""

    def __init__(self, name: str = "test:counting", dim: int = 3) -> None:
        self._name = name
        self._dimension = dim
        self.calls: list[list[str]] = []

    def _vec(self, text: str, salt: float) -> list[float]:
        return [len(text) + salt, sum(map(ord, text)) / 7, 1 / 3][: self._dimension]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._vec(t, 0.0) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls.append([f"query:{text}"])
        return self._vec(text, 0.5)


def test_second_call_is_served_from_the_cache(tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite")
    first = cached.embed_documents(["a", "bb", "a", "ccc"])
    assert inner.calls == [["a", "bb", "ccc"]]  # duplicates embedded once
    assert (cached.hits, cached.misses) == (0, 3)
    second = cached.embed_documents(["ccc", "a", "dddd"])
    assert inner.calls[-1] == ["dddd"]
    assert second[:2] == [first[3], first[0]]  # exactly the vectors the model returned
    assert (cached.hits, cached.misses) == (2, 4)
    assert cached.stats() == {"hits": 2, "misses": 4, "entries": 4}


def test_cache_persists_across_instances_and_passes_identity_through(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite"
    CachedEmbedder(Counting(), path).embed_documents(["x", "y"])
    inner = Counting()
    again = CachedEmbedder(inner, path)
    assert again.embed_documents(["y", "x"]) == [inner._vec("y", 0.0), inner._vec("x", 0.0)]
    assert inner.calls == []
    assert (again.name, again.dimension) == ("test:counting", 3)
    assert as_embedder(again) is again  # not unwrapped to the uncached inner embedder
    assert as_embedder(again.as_langchain()) is again


def test_entries_are_keyed_by_space_and_by_query_or_document(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    a = CachedEmbedder(Counting("test:a", 3), path)
    b_inner = Counting("test:b", 2)
    b = CachedEmbedder(b_inner, path)
    a.embed_documents(["same text"])
    assert len(b.embed_documents(["same text"])[0]) == 2
    assert b_inner.calls == [["same text"]]
    query = b.embed_query("same text")
    assert b_inner.calls[-1] == ["query:same text"]
    assert query != b.embed_documents(["same text"])[0]
    b.embed_query("same text")
    assert b_inner.calls[-1] == ["query:same text"] and len(b_inner.calls) == 2


async def test_async_path_uses_the_cache(tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, tmp_path / "c.sqlite")
    assert await cached.aembed_documents(["p", "q"]) == cached.embed_documents(["p", "q"])
    assert await cached.aembed_query("p") == await cached.aembed_query("p")
    assert len(inner.calls) == 2
    assert cached.hits == 3


def test_threads_share_one_cache(tmp_path: Path) -> None:
    cached = CachedEmbedder(Counting(), tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(20):
                cached.embed_documents([f"t{(i + k) % 30}", f"u{i}"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cached.stats()["entries"] == 23 + 20  # t0..t22 and u0..u19


def test_concurrent_processes_do_not_corrupt_or_fail(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    script = textwrap.dedent(
        f"""
        import sys
        from chromabridge.embedders import CachedEmbedder
        from chromabridge.embedders.native import NativeEmbedder

        class E(NativeEmbedder):
            _name, _dimension = "test:proc", 2
            def embed_documents(self, texts):
                return [[float(len(t)), 1.0] for t in texts]

        cache = CachedEmbedder(E(), {str(path)!r})
        me = int(sys.argv[1])
        for i in range(60):
            cache.embed_documents([f"shared {{i}}", f"own {{me}} {{i}}"])
        print(cache.hits, cache.misses)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(k)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    final = CachedEmbedder(Counting("test:proc", 2), path)
    assert final.stats()["entries"] == 60 + 3 * 60
    assert final.embed_documents(["shared 7"]) == [[8.0, 1.0]]
    assert final.hits == 1


def test_unopenable_path_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from chromabridge.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot open embedding cache"):
        CachedEmbedder(Counting(), blocker / "cache.sqlite")
