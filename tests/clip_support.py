"""A tiny random CLIP saved once per test process, and images drawn with Pillow.

The model loads through `ClipEmbedder`'s real `from_pretrained` path; the images are
distinct shapes and colours, so each one's nearest neighbour is itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

_STATE: dict[str, Any] = {}

SHAPES = [
    ("circle", "red"),
    ("square", "blue"),
    ("triangle", "green"),
    ("circle", "orange"),
    ("square", "purple"),
]


def tiny_clip_dir() -> Path:
    if "dir" not in _STATE:
        from chromabridge.embedders.tiny_clip import save_tiny_clip

        folder = Path(tempfile.mkdtemp(prefix="tiny-clip-")) / "tiny-clip"
        _STATE["dir"] = save_tiny_clip(folder)
    return Path(_STATE["dir"])


def shared_clip() -> Any:
    """One ClipEmbedder per test process: loading transformers costs seconds."""
    if "clip" not in _STATE:
        from chromabridge.embedders import ClipEmbedder

        _STATE["clip"] = ClipEmbedder(tiny_clip_dir(), device="cpu")
    return _STATE["clip"]


def draw(shape: str, color: str, size: int = 48) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(image)
    box = [(size // 6, size // 6), (size * 5 // 6, size * 5 // 6)]
    if shape == "circle":
        pen.ellipse(box, fill=color)
    elif shape == "square":
        pen.rectangle(box, fill=color)
    else:
        pen.polygon([(size // 2, 4), (size - 4, size - 4), (4, size - 4)], fill=color)
    return image


def draw_all(folder: Path, fmt: str = "png") -> list[Path]:
    """The shapes as files `<color>-<shape>.<fmt>` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for shape, color in SHAPES:
        path = folder / f"{color}-{shape}.{fmt}"
        draw(shape, color).save(path)
        paths.append(path)
    return paths


def truncated_png(path: Path) -> Path:
    """A PNG cut in half: the header reads, the pixels do not."""
    draw("circle", "black").save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
