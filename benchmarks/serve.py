"""`chromabridge serve` under load: 16 concurrent clients for 30 s against the demo
collection, beside a direct `store.query` on the same store, one run.

    .venv/bin/python benchmarks/serve.py [--path DIR] [--clients 16] [--seconds 30]

The demo collection is `make demo`'s (`harbor-point`, examples/data, all-MiniLM-L6-v2);
without `--path` it is built in a temporary folder by examples/quickstart.py. The server
runs as its own process (`chromabridge serve`), as a user runs it; clients are threads
here, each with its own HTTP connection, sending dense top-4 queries in a loop. Rows:
one client (the HTTP + JSON overhead alone) and N clients (latency under contention,
queueing included), each against the direct call's p50 in this process: embedding the
query with the same local model plus Chroma's search, no HTTP.

Both sides run torch with one intra-op thread (`OMP_NUM_THREADS=1`): the server already
embeds concurrent requests in parallel worker threads, and on a small shared machine
OpenMP's spinning team threads slowed a single embedding from ~30 ms to ~1 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
COLLECTION = "harbor-point"
QUESTIONS = [
    "Who coordinates the volunteers?",
    "When is the makerspace open on weekends?",
    "How much does a family membership cost?",
    "What did the annual report say about the budget?",
    "Can children use the laser cutter?",
    "How do I book the community room?",
    "Which tools need an induction first?",
    "Where do volunteers sign in?",
]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def direct_p50(path: Path, rounds: int) -> float:
    import torch

    from chromabridge.embedders import LocalEmbedder
    from chromabridge.vectorstores import ChromaStore

    torch.set_num_threads(1)
    store = ChromaStore(COLLECTION, path=path, embedder=LocalEmbedder())
    store.query(QUESTIONS[0], k=4)  # warm the model
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        store.query(QUESTIONS[i % len(QUESTIONS)], k=4)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load(url: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=url, timeout=60) as http:
            i = n
            while time.monotonic() < stop:
                body = {"query": QUESTIONS[i % len(QUESTIONS)], "k": 4, "mode": "dense"}
                start = time.perf_counter()
                try:
                    ok = http.post(f"/api/collections/{COLLECTION}/query", json=body).is_success
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - start)
                failed += not ok
                i += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--path", type=Path, help="a store holding harbor-point (make demo)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "OMP_NUM_THREADS": "1",
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            path = Path(tmp) / "chroma"
            subprocess.run(
                [sys.executable, str(REPO / "examples" / "quickstart.py"), "--path", str(path)],
                check=True,
                capture_output=True,
                env={**env, "UNSTRUCTURED_DISABLE_NOTICE": "1"},
            )
        direct = direct_p50(path, 100)
        port = _port()
        command = [sys.executable, "-m", "chromabridge", "serve", "--path", str(path)]
        server = subprocess.Popen(
            [*command, "--listen-port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:  # the first query also loads the model in the server
                    httpx.post(
                        f"{url}/api/collections/{COLLECTION}/query",
                        json={"query": "warm up"},
                        timeout=120,
                    ).raise_for_status()
                    break
                except httpx.ConnectError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit("chromabridge serve did not start")
                    time.sleep(0.3)
            rows = []
            for clients, seconds in ((1, min(10.0, args.seconds)), (args.clients, args.seconds)):
                latencies, errors = load(url, clients, seconds)
                p50 = statistics.median(latencies)
                rows.append(
                    f"| {clients} | {seconds:.0f} | {len(latencies)} | {errors} "
                    f"| {p50 * 1e3:.1f} | {_percentile(latencies, 0.99) * 1e3:.1f} "
                    f"| {len(latencies) / seconds:.0f} | {p50 / direct:.2f}x |"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"Direct `store.query` (embed + search, in process): p50 {direct * 1e3:.1f} ms\n")
    print("| clients | seconds | requests | errors | p50 ms | p99 ms | req/s | p50 vs direct |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{os.cpu_count()} CPUs; server and clients share them.")


if __name__ == "__main__":
    main()
