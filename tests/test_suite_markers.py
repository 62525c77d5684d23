"""`-m "not server"` must not start `chroma run`: conftest marks every test that uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_every_test_that_uses_the_server_is_marked_server() -> None:
    # test_store.py reaches the server both ways, with no marks of its own: a
    # `chroma_server` argument and a `mode="server"` parameter.
    marked = _collected(str(TESTS / "test_store.py"), "-m", "server")
    names = {t.split("::")[-1] for t in marked}
    assert {"test_async_is_native_on_server", "test_injected_async_client"} <= names
    assert any("[server" in t for t in marked)
    assert not [t for t in marked if "memory" in t or "persistent" in t]
