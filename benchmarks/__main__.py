"""Run every benchmark and collect their tables: `python -m benchmarks` (`make bench`).

    .venv/bin/python -m benchmarks [--quick] [--million] [--only NAME[,NAME]] [--out DIR]

Each script in this folder (every `benchmarks/*.py` with a ``__main__`` block) runs in
its own process, one after the other, so none warms another's caches or memory. Their
markdown output is gathered into `<out>/latest.md` and, with the tables parsed into
rows, `<out>/latest.json` (each entry: name, command, exit status, seconds, text,
tables). A benchmark that fails is recorded with its error and the others still run.

`--quick` runs each one on a small input (seconds to a minute each) to check that they
work; the figures worth quoting come from a full run. Full runs take long on a small
machine (about 45 minutes for all on 2 cores): loaders, vectorstores and memory (~10-15 min
each) dominate; `--million` adds about 25 minutes of scale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: Known benchmarks in run order, with the arguments of their --quick variant.
QUICK: dict[str, list[str]] = {
    "vectorstores": ["--n", "2000", "--queries", "20", "--rounds", "2"],
    "ingest": ["--limit", "20"],
    "chunkers": ["--limit", "40", "--repeat", "1"],
    "loaders": ["--limit", "20"],
    "embedders": ["--rounds", "1", "--size", "50"],
    "memory": ["--sizes", "8,32"],
    "hybrid_scale": ["--n", "5000", "--queries", "50"],
    "shared": ["--n", "2000", "--queries", "50", "--rounds", "1"],
    "retrieval_quality": [],
    "serve": ["--seconds", "5"],
    "lifecycle": ["--limit", "300"],
    "multimodal": ["--images", "16", "--rounds", "1"],
    "tracing": ["--n", "2000", "--queries", "30", "--files", "30", "--rounds", "2"],
    "distributed": ["--limit", "8", "--embedder", "fake"],
    "scale": ["--sizes", "2000,10000", "--queries", "50"],  # last: the longest with --million
}


def discover() -> list[str]:
    """Benchmark scripts: the known ones first, then any other script in this folder."""
    found = {
        p.stem
        for p in HERE.glob("*.py")
        if not p.name.startswith("_") and "__main__" in p.read_text(errors="replace")
    }
    return [n for n in QUICK if n in found] + sorted(found - set(QUICK))


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Markdown tables in `text`, each as a list of {header: cell} rows."""
    tables: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        head, rule = lines[i].strip(), lines[i + 1].strip()
        if head.startswith("|") and rule.startswith("|") and set(rule) <= set("|-: "):
            headers = [h.strip() for h in head.strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(headers, cells, strict=False)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def run_one(name: str, quick: bool, timeout: float, million: bool = False) -> dict[str, Any]:
    extra = QUICK.get(name, []) if quick else []
    if million and name == "scale" and not quick:
        extra = ["--million"]
    command = [sys.executable, str(HERE / f"{name}.py"), *extra]
    shown = " ".join([".venv/bin/python", f"benchmarks/{name}.py", *extra])
    print(f"== {name}: {shown}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    try:
        out = subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        code, text, err = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as exc:
        code = -1
        text = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = f"timed out after {timeout:.0f}s"
    seconds = time.perf_counter() - start
    status = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"   {status} in {seconds:.0f}s", file=sys.stderr, flush=True)
    return {
        "name": name,
        "command": shown,
        "returncode": code,
        "seconds": round(seconds, 1),
        "text": text,
        "error": "" if code == 0 else err[-3000:],
        "tables": parse_tables(text),
    }


def write(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """Write `<out>/latest.md` and `latest.json` for the benchmarks run so far."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick (small inputs; not figures to quote)" if args.quick else "full"
    header = (
        f"# Benchmarks, {mode}\n\n{stamp}; {platform.node() or 'host'}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; `python -m benchmarks"
        f"{' --quick' if args.quick else ''}{' --million' if args.million else ''}"
        f"{f' --only {args.only}' if args.only else ''}`\n"
    )
    parts = [header]
    for r in results:
        parts.append(f"\n## {r['name']}\n\n`{r['command']}` ({r['seconds']:.0f} s)\n\n")
        if r["returncode"] == 0:
            parts.append(r["text"].strip() + "\n")
        else:
            parts.append(f"**failed** (exit {r['returncode']}):\n\n```\n{r['error']}\n```\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text("".join(parts))
    meta = {
        "when": stamp,
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "benchmarks": results,
    }
    (args.out / "latest.json").write_text(json.dumps(meta, indent=2) + "\n")
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small inputs: check they run")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per benchmark")
    parser.add_argument("--million", action="store_true", help="scale sweep up to 1M chunks")
    args = parser.parse_args()

    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    results: list[dict[str, Any]] = []
    parts: list[str] = []
    for name in names:  # the files are rewritten after each one: a long run shows progress
        results.append(run_one(name, args.quick, args.timeout, args.million))
        parts = write(results, args)
    print("".join(parts))
    print(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}", file=sys.stderr)
    failed = [r["name"] for r in results if r["returncode"] != 0]
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
