"""examples/multimodal.py runs as a user runs it, offline (the tiny CLIP stands in)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clip_support import tiny_clip_dir
from test_examples import run


@pytest.mark.slow
def test_multimodal_example_searches_by_text_and_by_image(tmp_path: Path) -> None:
    args = ["--path", str(tmp_path / "db"), "--data", str(tmp_path / "data")]
    first = run("multimodal.py", *args, "--model", str(tiny_clip_dir()))
    assert "ingested: 5 added, 0 updated, 0 unchanged; " in first
    text_hits = re.findall(r"^  (image|text ) .* source: (\S+)", first, flags=re.M)
    assert len(text_hits) == 6
    by_image = first.split("by image:")[1]
    top = re.search(r"source: (\S+)", by_image)
    assert top is not None and top.group(1).endswith("pictures/red-circle.png")
