"""The CLI and the examples hide progress bars and third-party notices unless asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import logging, sys
from chromabridge.quiet import quiet
if "logging" in sys.argv:
    logging.basicConfig()
if "preloaded" in sys.argv:  # already imported: switched off in place
    import huggingface_hub.utils
quiet(verbose="verbose" in sys.argv)
from huggingface_hub.utils import tqdm  # what transformers' loading bars are made of
for _ in tqdm(range(3), desc="Loading weights"):
    pass
logging.getLogger("unstructured").warning("No languages specified, defaulting to English.")
"""


@pytest.mark.parametrize(
    ("mode", "bar", "notice"),
    [
        ("default", False, False),
        ("preloaded", False, False),
        ("verbose", True, True),
        ("logging", False, True),
    ],
)
def test_quiet_unless_verbose_or_logging_asks(mode: str, bar: bool, notice: bool) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    said = done.stdout + done.stderr
    assert ("Loading weights" in said) == bar, said
    assert ("No languages specified" in said) == notice, said


def test_cli_takes_verbose() -> None:
    from typer.testing import CliRunner

    from chromabridge.cli import app

    result = CliRunner().invoke(app, ["--verbose", "collections", "--help"])
    assert result.exit_code == 0, result.output
