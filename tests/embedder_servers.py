"""Loopback servers that speak OpenAI's `/v1/embeddings` and Cohere's `/v2/embed`
(texts, and images as base64 data URIs).

The real SDKs are pointed at them, so tests see exactly what went over the wire and
can script failures: a queue of `Reply` / `Slow` actions is consumed one per request,
then requests get well-formed answers with deterministic vectors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


def fake_vector(text: str, dim: int) -> list[float]:
    """A unit vector determined by the text alone."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    """Answer one request with this status, body (dict -> JSON, or raw bytes) and headers."""

    status: int
    body: dict[str, Any] | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Slow:
    """Wait `seconds` before answering normally (to trip the client's timeout)."""

    seconds: float


@dataclass
class Mangle:
    """Answer normally, then let `fn` rewrite the JSON body (wrong lengths, missing items)."""

    fn: Callable[[dict[str, Any]], dict[str, Any]]


Action = Reply | Slow | Mangle


class FakeServer:
    def __init__(self, answer: Callable[[Seen], dict[str, Any]]) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.script: deque[Action] = deque()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                seen = Seen(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw or b"{}"),
                )
                with server.lock:
                    server.seen.append(seen)
                    action = server.script.popleft() if server.script else None
                status, headers, body = 200, {}, b""
                if isinstance(action, Slow):
                    time.sleep(action.seconds)
                if isinstance(action, Reply):
                    status, headers = action.status, action.headers
                    body = (
                        action.body
                        if isinstance(action.body, bytes)
                        else json.dumps(action.body).encode()
                    )
                else:
                    payload = server.answer(seen)
                    if isinstance(action, Mangle):
                        payload = action.fn(payload)
                    body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *actions: Action) -> None:
        with self.lock:
            self.script.extend(actions)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.script.clear()


def openai_answer(seen: Seen) -> dict[str, Any]:
    body = seen.body
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dim = body.get("dimensions") or {"text-embedding-3-large": 3072}.get(body["model"], 1536)
    data = []
    for i, text in enumerate(inputs):
        vec = fake_vector(text, dim)
        if body.get("encoding_format") == "base64":
            emb: Any = base64.b64encode(np.array(vec, dtype=np.float32).tobytes()).decode()
        else:
            emb = vec
        data.append({"object": "embedding", "index": i, "embedding": emb})
    data.reverse()  # the API does not promise order; clients must sort by index
    tokens = sum(len(t.split()) for t in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


COHERE_DIMS = {"embed-english-light-v3.0": 384, "embed-v4.0": 1536}


def _cohere_items(body: dict[str, Any]) -> list[str]:
    """What one /v2/embed request embeds: `texts`, `images` (data URIs, with
    input_type "image") or `inputs` (content lists mixing text and image_url parts)."""
    if "texts" in body:
        return list(body["texts"])
    if "images" in body:
        for uri in body["images"]:
            header, _, payload = uri.partition(",")
            assert header.startswith("data:image/") and header.endswith(";base64"), header
            base64.b64decode(payload, validate=True)
        return list(body["images"])
    return [json.dumps(item["content"], sort_keys=True) for item in body["inputs"]]


def cohere_answer(seen: Seen) -> dict[str, Any]:
    body = seen.body
    texts = _cohere_items(body)
    dim = body.get("output_dimension") or COHERE_DIMS.get(body["model"], 1024)
    vectors = [fake_vector(f"{body['input_type']}|{t}", dim) for t in texts]
    embeddings: dict[str, Any] = {}
    for kind in body.get("embedding_types") or ["float"]:
        if kind == "int8":
            embeddings["int8"] = [[round(x * 127) for x in v] for v in vectors]
        else:
            embeddings["float"] = vectors
    return {
        "id": "fake",
        "response_type": "embeddings_by_type",
        "embeddings": embeddings,
        "texts": body.get("texts", []),
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": len(texts)}},
    }


@contextmanager
def serve(answer: Callable[[Seen], dict[str, Any]]) -> Iterator[FakeServer]:
    server = FakeServer(answer)
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


_LOCAL: dict[str, Any] = {}


def shared_local_embedder() -> Any:
    """One LocalEmbedder per test process: loading the model costs seconds."""
    if "model" not in _LOCAL:
        from chromabridge.embedders import LocalEmbedder

        _LOCAL["model"] = LocalEmbedder()
    return _LOCAL["model"]
