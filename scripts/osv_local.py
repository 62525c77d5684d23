"""Serve OSV's query API on loopback from a local advisory directory, for offline audits.

pip-audit asks a vulnerability service about every installed distribution; its OSV
backend posts `{"package": {"name", "ecosystem"}, "version"}` to `--osv-url`. Machines
that reach only package indexes cannot reach api.osv.dev, so this answers the same
query from OSV records on disk: a checkout of https://github.com/pypa/advisory-database
(`vulns/<package>/*.yaml`) or any folder of OSV `.yaml` / `.json` files. pip-audit
itself does the audit, unchanged.

    python scripts/osv_local.py ADVISORY_DIR -- pip-audit -s osv --osv-url {url} ...

starts the server on a free port, runs the command with `{url}` replaced by the query
URL, stops the server and exits with the command's status. Affected versions follow the
OSV schema: the `versions` list, and `ECOSYSTEM` ranges of introduced / fixed /
last_affected events compared as PEP 440 versions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version


def canonical(name: str) -> str:
    """PEP 503 name normalisation, as pip-audit sends names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_range(version: Version, events: Iterable[dict[str, str]]) -> bool:
    """OSV range evaluation: walk the events in version order ("0" is the start)."""
    keyed: list[tuple[Version, str]] = []
    for event in events:
        for kind, text in event.items():
            found = Version("0") if text == "0" else _version(text)
            if found is not None:
                keyed.append((found, kind))
    affected = False
    for at, kind in sorted(keyed, key=lambda pair: pair[0]):
        if kind == "introduced" and at <= version:
            affected = True
        elif (kind == "fixed" and at <= version) or (kind == "last_affected" and at < version):
            affected = False
    return affected


def affects(record: dict[str, Any], name: str, version: str) -> bool:
    """Whether OSV `record` lists PyPI package `name` at `version` as affected."""
    parsed = _version(version)
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem") != "PyPI" or canonical(package.get("name", "")) != name:
            continue
        listed = affected.get("versions") or []
        if version in listed or (parsed is not None and parsed in map(_version, listed)):
            return True
        for span in affected.get("ranges") or []:
            events = span.get("events") or []
            if parsed is not None and span.get("type") == "ECOSYSTEM" and _in_range(parsed, events):
                return True
    return False


def load(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """OSV records under `directory`, indexed by the canonical names they affect."""
    index: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(directory.rglob("*")):
        if path.suffix not in {".yaml", ".yml", ".json"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        record = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(record, dict) or "id" not in record:
            continue
        names = {
            canonical(a["package"]["name"])
            for a in record.get("affected") or []
            if (a.get("package") or {}).get("ecosystem") == "PyPI"
        }
        for name in names:
            index[name].append(record)
    return index


def serve(index: dict[str, list[dict[str, Any]]]) -> ThreadingHTTPServer:
    """Start the query server on a free loopback port (in a daemon thread)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            name = canonical(query["package"]["name"])
            version = str(query["version"])
            vulns = [r for r in index.get(name, []) if affects(r, name, version)]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        print(__doc__, file=sys.stderr)
        return 2
    directory, command = Path(argv[0]), argv[2:]
    if not directory.is_dir():
        print(f"osv_local: advisory directory {directory} does not exist", file=sys.stderr)
        return 2
    index = load(directory)
    count = len({r["id"] for records in index.values() for r in records})
    print(f"osv_local: {count} advisories for {len(index)} packages from {directory}")
    server = serve(index)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    try:
        return subprocess.call([part.replace("{url}", url) for part in command])
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
