"""Loader benchmark: chromabridge's DirectoryLoader vs LangChain's unstructured loading.

Run: `.venv/bin/python benchmarks/loaders.py [--limit N] [--workers N]`
(needs the `bench` extra: `pip install -e '.[bench]'`). Prints a markdown table.

Corpus: the 530 HTML pages of Debian's `python3.11-doc` (installed with apt-get when
missing and running as root). Contenders, each in a fresh process so import cost and
peak memory are their own:

- `chromabridge workers=1` and `workers=N`: `DirectoryLoader(root, include=["*.html"])`,
  one document per file (`mode="single"`), PDF-irrelevant `strategy="fast"`, with the
  default per-file budgets (a worker process even for workers=1); `no budgets` is
  workers=1 with `file_timeout=None, file_memory=None`, loading in the process itself,
  as before budgets existed. The last table is their throughput ratio.
- `langchain-unstructured`: `UnstructuredLoader(file_path=[every file])`, LangChain's
  current unstructured integration (one document per element, sequential), fed the same
  sorted file list. The older `langchain_community` DirectoryLoader + UnstructuredFileLoader
  pair calls the same `partition` per file; it is not installed here.

`--budgets-only ROUNDS` measures just the budgets' cost: budgets on and off (workers=1)
alternate ROUNDS times, so load from other jobs falls on both alike, and the median of
the per-round ratios is reported, for wall-clock throughput and for files per CPU-second
(user + system time of the contender and its worker): on a shared machine the wall clock
varies by 15% between identical runs, the CPU time much less.

Peak RSS is sampled every 20 ms over the contender's whole process tree (pool workers
included) with psutil, from the parent: a sampler thread inside the contender would share
its GIL and slow the in-process (no budgets) case. One run each; files/s and MB/s count
input files and bytes. Telemetry is switched off for both (DO_NOT_TRACK) since this
machine cannot reach it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

CORPUS = Path("/usr/share/doc/python3.11/html")
ENV = {"DO_NOT_TRACK": "1", "UNSTRUCTURED_DISABLE_NOTICE": "1", "HF_HUB_OFFLINE": "1"}


def ensure_corpus() -> list[Path]:
    if not CORPUS.is_dir() and os.geteuid() == 0 and shutil.which("apt-get"):
        apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt)
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3.11-doc"], check=True, env=apt)
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} missing: apt-get install python3.11-doc (as root)")
    return sorted(CORPUS.rglob("*.html"))


def run_ours(root: Path, files: list[Path], workers: int, budgets: bool = True) -> dict[str, int]:
    from chromabridge.loaders import DirectoryLoader

    wanted = {p.relative_to(root).as_posix() for p in files}
    off = {} if budgets else {"file_timeout": None, "file_memory": None}
    loader = DirectoryLoader(root, include=sorted(wanted), workers=workers, **off)
    docs = sum(1 for _ in loader.lazy_load())
    return {"documents": docs, "failures": len(loader.report)}


def run_langchain(files: list[Path]) -> dict[str, int]:
    from langchain_unstructured import UnstructuredLoader

    loader = UnstructuredLoader(file_path=[str(p) for p in files], strategy="fast")
    docs = sum(1 for _ in loader.lazy_load())
    return {"documents": docs, "failures": 0}


def child(args: argparse.Namespace) -> None:
    """One contender in this process; prints a JSON line for the parent (which samples
    memory from outside, so no sampler thread shares this process's GIL)."""
    files = [Path(p) for p in json.loads(Path(args.files).read_text())]
    start = time.perf_counter()
    if args.contender == "langchain":
        result = run_langchain(files)
    else:
        result = run_ours(CORPUS, files, args.workers, budgets=args.contender == "ours")
    seconds = time.perf_counter() - start
    if args.contender != "langchain":
        from chromabridge.loaders import stop_idle_workers

        stop_idle_workers()  # reaped, so the worker's CPU time counts below
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps({**result, "seconds": seconds, "cpu": cpu}))


def measure(contender: str, workers: int, file_list: Path) -> dict[str, float]:
    """Run one contender in a fresh process; peak RSS of its whole tree every 20 ms."""
    import psutil

    command = [sys.executable, __file__, "--child", contender, "--workers", str(workers)]
    command += ["--files", str(file_list)]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    ) as proc:
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    procs = [root, *root.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                except psutil.Error:
                    pass
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        done.set()
        sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{contender} failed:\n{err[-3000:]}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="first N files (0: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--budgets-only",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only budgets on vs off, alternated ROUNDS times (median ratio)",
    )
    parser.add_argument(
        "--child", choices=["ours", "ours-unbudgeted", "langchain"], help=argparse.SUPPRESS
    )
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.contender = args.child
        child(args)
        return

    files = ensure_corpus()
    if args.limit:
        files = files[: args.limit]
    size = sum(p.stat().st_size for p in files)
    file_list = Path(os.environ.get("TMPDIR", "/tmp")) / f"cb-bench-loaders-{os.getpid()}.json"
    file_list.write_text(json.dumps([str(p) for p in files]))
    if args.budgets_only:
        try:
            budgets_only(files, size, file_list, args.budgets_only)
        finally:
            file_list.unlink(missing_ok=True)
        return
    try:
        rows = [
            (f"chromabridge workers={args.workers}", measure("ours", args.workers, file_list)),
            ("chromabridge workers=1", measure("ours", 1, file_list)),
            ("chromabridge workers=1 no budgets", measure("ours-unbudgeted", 1, file_list)),
            ("langchain-unstructured", measure("langchain", 1, file_list)),
        ]
    finally:
        file_list.unlink(missing_ok=True)

    base = rows[-1][1]["seconds"]
    print(
        f"{len(files)} HTML files, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}\n"
    )
    print("| loader | docs | failures | s | files/s | MB/s | peak RSS MB | speed vs LangChain |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(
            f"| {name} | {r['documents']:.0f} | {r['failures']:.0f} | {r['seconds']:.1f} | "
            f"{len(files) / r['seconds']:.2f} | {size / 1e6 / r['seconds']:.2f} | "
            f"{r['peak_rss'] / 2**20:.0f} | {base / r['seconds']:.2f}x |"
        )
    on, off = rows[1][1]["seconds"], rows[2][1]["seconds"]
    print("\n| budgets (file_timeout, file_memory, in a worker process) | throughput vs none |")
    print("|---|---:|")
    print(f"| on (defaults), workers=1 | {off / on:.3f}x |")


def budgets_only(files: list[Path], size: int, file_list: Path, rounds: int) -> None:
    """Budgets on vs off, interleaved: the per-round throughput ratios and their median."""
    import statistics

    print(f"{len(files)} HTML files, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs, {rounds} rounds\n")
    print("| round | on s | off s | on/off throughput | on CPU s | off CPU s | on/off per CPU-s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    walls, cpus = [], []
    for index in range(rounds):
        on = measure("ours", 1, file_list)
        off = measure("ours-unbudgeted", 1, file_list)
        walls.append(off["seconds"] / on["seconds"])
        cpus.append(off["cpu"] / on["cpu"])
        print(
            f"| {index + 1} | {on['seconds']:.1f} | {off['seconds']:.1f} | {walls[-1]:.3f}x "
            f"| {on['cpu']:.1f} | {off['cpu']:.1f} | {cpus[-1]:.3f}x |",
            flush=True,
        )
    print(
        f"\nmedian with budgets on, of off: throughput {statistics.median(walls):.3f}x, "
        f"files per CPU-second {statistics.median(cpus):.3f}x"
    )


if __name__ == "__main__":
    main()
