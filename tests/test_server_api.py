"""`chromabridge serve`'s HTTP API against a real uvicorn on a loopback port."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from server_support import HOSTILE, beir, fill, serving, wait_for_job
from typer.testing import CliRunner

from chromabridge.cli import app as cli_app
from chromabridge.embedders import FakeEmbedder
from chromabridge.server import MAX_K, create_app

TOKEN = "s3cret-token-value"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve-store") / "chroma"
    fill(path)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-data")
    beir(root)
    (root.parent / "outside").mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="module")
def api(store_dir: Path, data_dir: Path) -> Iterator[httpx.Client]:
    app = create_app(path=store_dir, embedder=FakeEmbedder(), data_dir=data_dir)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def locked(store_dir: Path) -> Iterator[str]:
    app = create_app(path=store_dir, embedder=FakeEmbedder(), token=TOKEN)
    with serving(app) as url:
        yield url


def _query(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post("/api/collections/docs/query", json={"query": "hybrid search", **body})


def test_collections_list_names_counts_and_embedder(api: httpx.Client) -> None:
    rows = api.get("/api/collections").json()["collections"]
    docs = next(r for r in rows if r["name"] == "docs")
    assert docs["count"] > 4
    assert docs["embedder"] == "fake:hash"


def test_documents_are_paged_with_chunk_counts(api: httpx.Client) -> None:
    first = api.get("/api/collections/docs/documents", params={"limit": 2}).json()
    second = api.get("/api/collections/docs/documents", params={"limit": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == 4
    ids = [d["doc_id"] for d in first["documents"] + second["documents"]]
    assert sorted(ids) == ["faq.md", "guide.md", "hostile.html", "notes.txt"]
    count = api.get("/api/collections").json()["collections"][0]["count"]
    assert sum(d["chunks"] for d in first["documents"] + second["documents"]) == count
    guide = next(d for d in first["documents"] if d["doc_id"] == "guide.md")
    assert guide["source"] == "guide.md" and guide["chunks"] > 1


def test_document_returns_its_chunks_in_order_with_offsets(api: httpx.Client) -> None:
    doc = api.get("/api/collections/docs/documents/guide.md").json()
    chunks = doc["chunks"]
    assert [c["index"] for c in chunks] == list(range(len(chunks)))
    assert all(c["end"] - c["start"] == len(c["text"]) for c in chunks)
    assert [c["start"] for c in chunks] == sorted(c["start"] for c in chunks)
    missing = api.get("/api/collections/docs/documents/nope.md")
    assert missing.status_code == 404 and "nope.md" in missing.json()["detail"]


@pytest.mark.parametrize("mode", ["dense", "hybrid", "mmr"])
def test_query_each_mode_returns_ranked_hits(api: httpx.Client, mode: str) -> None:
    answer = _query(api, k=3, mode=mode).json()
    hits = answer["hits"]
    assert answer["mode"] == mode and len(hits) == 3
    assert {"id", "score", "text", "metadata", "source"} <= set(hits[0])
    assert hits[0]["source"] == "guide.md"  # the only text about hybrid search
    if mode != "mmr":  # MMR trades score order for diversity
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


@pytest.mark.parametrize(
    "flt",
    [
        {"where": {"source": "faq.md"}},
        {"where": {"source": {"$in": ["faq.md"]}, "chunk_index": {"$gte": 0}}},  # plain multi-key
        {"filters": {"filters": [{"key": "source", "value": "faq.md", "operator": "=="}]}},
        {  # nested groups, as MetadataFilters.model_dump() writes them
            "filters": {
                "condition": "or",
                "filters": [
                    {"filters": [{"key": "source", "value": "faq.md"}], "condition": "and"},
                    {"key": "source", "value": ["faq.md"], "operator": "in"},
                ],
            }
        },
        {"where_document": {"$contains": "embedder"}},
    ],
    ids=["chroma", "multi-key", "llamaindex", "llamaindex-nested", "where_document"],
)
def test_every_filter_dialect_restricts_hits(api: httpx.Client, flt: dict[str, object]) -> None:
    for mode in ("dense", "hybrid"):
        hits = _query(api, k=5, mode=mode, **flt).json()["hits"]
        assert hits and {h["source"] for h in hits} == {"faq.md"}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"where": {"source": {"$regex": "x"}}}, "$regex"),
        ({"where": {"$nor": [{"a": 1}, {"b": 2}]}}, "$nor"),
        ({"where": {"a": 1}, "filters": {"filters": []}}, "either"),
        ({"filters": {"filters": [{"key": "a", "value": 1, "operator": "~~"}]}}, "~~"),
        ({"filters": {"filters": 5}}, "filters"),
        ({"filters": {"filters": [{"key": "a", "value": {"x": 1}}]}}, "value"),
        ({"where_document": {"$foo": "x"}}, "$foo"),
        ({"k": 0}, "k"),
        ({"k": MAX_K + 1}, "k"),
        ({"mode": "sparse"}, "mode"),
        ({"query": ""}, "query"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_422_naming_the_problem(
    api: httpx.Client, body: dict[str, object], needle: str
) -> None:
    response = _query(api, **body)
    assert response.status_code == 422
    assert needle in json.dumps(response.json()["detail"])


def test_unknown_collection_is_404(api: httpx.Client) -> None:
    response = api.post("/api/collections/nothing-here/query", json={"query": "x"})
    assert response.status_code == 404 and "nothing-here" in response.json()["detail"]


def test_request_body_is_bounded(api: httpx.Client) -> None:
    huge = {"query": "x", "where": {"source": {"$in": ["a" * 1000] * 100}}}
    assert _query(api, **huge).status_code == 413
    assert _query(api, query="q" * 5000).status_code == 422  # query text bound


def test_document_text_comes_back_as_data_not_markup(api: httpx.Client) -> None:
    hits = _query(api, query="untrusted page text", k=2).json()["hits"]
    assert any(HOSTILE in h["text"] for h in hits)
    page = api.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = api.get("/static/app.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", script.text)


def test_map_projects_a_sample_of_vectors(api: httpx.Client) -> None:
    count = api.get("/api/collections").json()["collections"][0]["count"]
    full = api.get("/api/collections/docs/map").json()
    assert len(full["points"]) == count
    sources = {p["source"] for p in full["points"]}
    assert sources == {"guide.md", "faq.md", "notes.txt", "hostile.html"}
    assert len({(round(p["x"], 6), round(p["y"], 6)) for p in full["points"]}) > 1
    assert 0 < sum(full["explained_variance"]) <= 1.0 + 1e-9
    assert len(api.get("/api/collections/docs/map", params={"sample": 3}).json()["points"]) == 3
    assert api.get("/api/collections/docs/map", params={"sample": 0}).status_code == 422


def test_eval_runs_in_the_background_with_progress(api: httpx.Client) -> None:
    assert api.get("/api/datasets").json() == {"datasets": ["tiny"]}
    body = {"dataset": "tiny", "modes": ["dense", "hybrid"]}
    started = api.post("/api/collections/eval-tiny/eval", json=body)
    assert started.status_code == 202
    job = wait_for_job(api, f"/api/collections/eval-tiny/eval/{started.json()['id']}")
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == 6
    for mode in ("dense", "hybrid"):
        assert 0.5 < job["results"][mode]["ndcg@10"] <= 1.0
        assert job["results"][mode]["recall@100"] == 1.0
    assert api.get("/api/collections/eval-tiny/eval/eval-999").status_code == 404


@pytest.mark.parametrize("dataset", ["../outside", "/etc", "tiny/../../outside", "missing"])
def test_eval_path_is_confined_to_the_data_folder(api: httpx.Client, dataset: str) -> None:
    response = api.post("/api/collections/docs/eval", json={"dataset": dataset})
    assert response.status_code == 422
    assert str(Path.cwd().anchor + "tmp") not in response.json()["detail"]  # no server paths


def test_eval_is_off_without_a_data_folder(locked: str) -> None:
    response = httpx.post(
        f"{locked}/api/collections/docs/eval",
        json={"dataset": "tiny"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 422 and "--data-dir" in response.json()["detail"]


def test_openapi_schema_lists_every_endpoint(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {
        "/api/collections",
        "/api/collections/{name}/documents",
        "/api/collections/{name}/documents/{doc_id}",
        "/api/collections/{name}/query",
        "/api/collections/{name}/eval",
        "/api/collections/{name}/map",
    } <= set(paths)


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_token_is_required_when_set(locked: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for method, path in [("GET", "/api/collections"), ("POST", "/api/collections/docs/query")]:
        response = httpx.request(method, locked + path, headers=headers, json={"query": "x"})
        assert response.status_code == 401
        assert response.json() == {"detail": "missing or wrong bearer token"}
        assert TOKEN not in response.text and "docs" not in response.text


def test_right_token_gets_through(locked: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{locked}/api/collections", headers=headers).status_code == 200
    hits = httpx.post(
        f"{locked}/api/collections/docs/query", headers=headers, json={"query": "filter"}
    ).json()["hits"]
    assert hits
    assert httpx.get(f"{locked}/").status_code == 200  # the page itself holds no data


def test_many_concurrent_queries_all_succeed(api: httpx.Client) -> None:
    def one(i: int) -> int:
        mode = ("dense", "hybrid", "mmr")[i % 3]
        return _query(api, query=f"chunk overlap {i}", mode=mode).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(one, range(96))) == {200}


def test_serve_refuses_a_public_bind_without_token() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--bind", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--token" in result.output


@pytest.mark.slow
def test_serve_command_serves_the_store(store_dir: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "chromabridge", "serve", "--path", str(store_dir)),
            *("--listen-port", str(port), "--token", TOKEN),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/api/collections",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout
                time.sleep(0.2)
        assert "docs" in {c["name"] for c in response.json()["collections"]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class SlowEmbedder(FakeEmbedder):
    """Embeds queries slowly, as a remote model would."""

    def embed_query(self, text: str) -> list[float]:
        time.sleep(1.0)
        return super().embed_query(text)


def test_slow_queries_do_not_block_the_event_loop(store_dir: Path) -> None:
    app = create_app(path=store_dir, embedder=SlowEmbedder())
    with serving(app) as url, ThreadPoolExecutor(4) as pool:
        slow = [
            pool.submit(httpx.post, f"{url}/api/collections/docs/query", json={"query": "x"})
            for _ in range(3)
        ]
        time.sleep(0.3)  # the three queries are now inside the embedder
        start = time.perf_counter()
        assert httpx.get(f"{url}/").status_code == 200
        assert time.perf_counter() - start < 0.5
        assert not any(f.done() for f in slow)
        assert [f.result().status_code for f in slow] == [200, 200, 200]


@pytest.mark.server
def test_api_over_a_chroma_server(chroma_server: Any, collection_name: str) -> None:
    where = {"host": chroma_server.host, "port": chroma_server.port}
    fill(None, collection_name, **where)
    app = create_app(embedder=FakeEmbedder(), **where)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        names = {c["name"] for c in client.get("/api/collections").json()["collections"]}
        assert collection_name in names
        for mode in ("dense", "hybrid", "mmr"):
            hits = client.post(
                f"/api/collections/{collection_name}/query",
                json={"query": "hybrid search", "mode": mode, "k": 2},
            ).json()["hits"]
            assert hits[0]["source"] == "guide.md"
        docs = client.get(f"/api/collections/{collection_name}/documents").json()
        assert docs["total"] == 4
