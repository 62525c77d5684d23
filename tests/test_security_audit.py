"""The offline dependency audit: real pip-audit against `scripts/osv_local.py`.

The machines this is built on cannot reach api.osv.dev or pypi.org's JSON API, so
`make audit ADVISORIES=DIR` serves OSV records from disk. These tests check the range
logic, and that pip-audit, talking to the local server, flags a vulnerable pin and
passes a fixed one.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("osv_local", REPO / "scripts" / "osv_local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


osv = _load()

RANGED = {
    "id": "TEST-2026-1",
    "summary": "remote code execution in widget parsing",
    "affected": [
        {
            "package": {"name": "Example_Pkg", "ecosystem": "PyPI"},
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [
                        {"introduced": "0"},
                        {"fixed": "1.1"},
                        {"introduced": "2.0"},
                        {"last_affected": "2.3"},
                    ],
                }
            ],
        }
    ],
}
LISTED = {
    "id": "TEST-2026-2",
    "details": "listed versions only",
    "affected": [{"package": {"name": "other", "ecosystem": "PyPI"}, "versions": ["3.0"]}],
}


@pytest.mark.parametrize(
    ("version", "hit"),
    [
        ("0.9", True),
        ("1.0.post1", True),
        ("1.1", False),
        ("1.9", False),
        ("2.0", True),
        ("2.3", True),
        ("2.3.1", False),
    ],
)
def test_ranges_follow_the_osv_schema(version: str, hit: bool) -> None:
    assert osv.affects(RANGED, "example-pkg", version) is hit


def test_listed_versions_and_other_ecosystems() -> None:
    assert osv.affects(LISTED, "other", "3.0")
    assert not osv.affects(LISTED, "other", "3.0.1")
    npm = {**LISTED, "affected": [{**LISTED["affected"][0], "package": {"name": "other"}}]}
    assert not osv.affects(npm, "other", "3.0")


def _audit(tmp_path: Path, pins: str) -> subprocess.CompletedProcess[str]:
    advisories = tmp_path / "vulns"
    (advisories / "example-pkg").mkdir(parents=True, exist_ok=True)
    (advisories / "example-pkg" / "TEST-2026-1.yaml").write_text(yaml.safe_dump(RANGED))
    (advisories / "TEST-2026-2.json").write_text(__import__("json").dumps(LISTED))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(pins)
    pip_audit = Path(sys.executable).with_name("pip-audit")
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "osv_local.py"),
            str(advisories),
            "--",
            str(pip_audit),
            "--no-deps",
            "--disable-pip",
            "-r",
            str(requirements),
            "-s",
            "osv",
            "--osv-url",
            "{url}",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pip_audit_flags_a_vulnerable_pin(tmp_path: Path) -> None:
    result = _audit(tmp_path, "example-pkg==1.0\nother==3.0\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TEST-2026-1" in result.stdout and "TEST-2026-2" in result.stdout
    assert "2 advisories for 2 packages" in result.stdout


def test_pip_audit_passes_fixed_pins(tmp_path: Path) -> None:
    result = _audit(tmp_path, "example-pkg==1.1\nother==3.0.1\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stdout + result.stderr
