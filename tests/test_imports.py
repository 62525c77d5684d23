"""Only the intended `chromabridge.*` packages import: from a checkout, the editable
install and a wheel (the repository's top-level folders are mapped, not exposed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAPPED = ("vectorstores", "loaders", "chunkers", "embedders", "retrievers")

# find_spec resolves a subpackage without running it (no chromadb import: a quick probe);
# None means `import` would fail.
PROBE = """
import sys
from importlib.util import find_spec
import chromabridge, chromabridge.errors, chromabridge.chunkers
for name in sys.argv[1:]:
    spec = find_spec("chromabridge." + name)
    assert spec is not None and spec.origin.endswith(name + "/__init__.py"), (name, spec)
for stray in ("chromabridge", "tests", "benchmarks", "examples", "scripts"):
    if find_spec("chromabridge." + stray) is not None:
        raise SystemExit(f"chromabridge.{stray} is importable")
print(chromabridge.__file__)
"""


def _probe(cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *MAPPED],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.strip()


def test_from_a_checkout_only_the_mapped_folders_import() -> None:
    # `python -c` in the checkout puts the bare core folder first on sys.path.
    assert _probe(REPO) == str(REPO / "chromabridge" / "__init__.py")


def test_from_the_editable_install_only_the_mapped_folders_import(tmp_path: Path) -> None:
    assert "__editable__" in _probe(tmp_path)


@pytest.mark.slow
def test_from_a_wheel_only_the_mapped_folders_import(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("chromabridge", *MAPPED):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), "."],
        cwd=src,
        check=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("chromabridge-*.whl"))
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    shutil.rmtree(src)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)}
    assert _probe(tmp_path, env) == str(site / "chromabridge" / "__init__.py")
