"""Image embedding benchmark: ClipEmbedder against transformers' CLIP called directly.

Run: `.venv/bin/python benchmarks/multimodal.py [--images 64] [--rounds 3] [--size 224]`
(with HF_HUB_OFFLINE=1; the Makefile exports it). Prints a markdown table.

Both contenders embed the same PNG files (coloured shapes drawn with Pillow) from disk
to a list of L2-normalised vectors, batch size 32: the direct path opens each file with
Pillow, runs `CLIPImageProcessorPil` and `CLIPModel.get_image_features`, and normalises;
`ClipEmbedder.embed_images` does the same plus its per-image checks (full decode, RGB).
Rounds alternate so machine load hits both alike; the best round counts, by wall clock
and by this process's CPU time (steadier on a shared machine). The tiny random
CLIP always runs; openai/clip-vit-base-patch32 runs only where its weights are cached.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REAL = "openai/clip-vit-base-patch32"
BATCH = 32


def draw_images(folder: Path, n: int, size: int) -> list[Path]:
    from PIL import Image, ImageDraw

    colors = ["red", "blue", "green", "orange", "purple", "black", "gold", "teal"]
    paths = []
    for i in range(n):
        image = Image.new("RGB", (size, size), "white")
        pen = ImageDraw.Draw(image)
        box = [(i % 7 + 4, i % 5 + 4), (size - 4 - i % 3, size - 4 - i % 11)]
        (pen.ellipse if i % 2 else pen.rectangle)(box, fill=colors[i % len(colors)])
        path = folder / f"{i:04d}.png"
        image.save(path)
        paths.append(path)
    return paths


def direct(model_dir: str) -> Callable[[list[Path]], list[list[float]]]:
    """transformers' CLIP as its model card shows it, batch by batch."""
    import torch
    from PIL import Image
    from transformers import CLIPModel
    from transformers.models.clip import CLIPImageProcessorPil

    model: Any = CLIPModel.from_pretrained(model_dir).eval()
    processor: Any = CLIPImageProcessorPil.from_pretrained(model_dir)

    def embed(paths: list[Path]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(paths), BATCH):
            images = [Image.open(p).convert("RGB") for p in paths[start : start + BATCH]]
            pixels = processor(images=images, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                features = model.get_image_features(pixel_values=pixels)
            tensor = features if isinstance(features, torch.Tensor) else features.pooler_output
            out.extend(torch.nn.functional.normalize(tensor, dim=-1).tolist())
        return out

    return embed


def measure(model_dir: str, paths: list[Path], rounds: int) -> dict[str, tuple[float, float]]:
    """images/s of each contender, by wall clock and by this process's CPU time."""
    from chromabridge.embedders import ClipEmbedder

    ours = ClipEmbedder(model_dir, device="cpu", batch_size=BATCH)
    contenders = {
        "ClipEmbedder.embed_images": ours.embed_images,
        "transformers direct": direct(model_dir),
    }
    for fn in contenders.values():  # warm-up: first-call allocations, lazy imports
        fn(paths[:4])
    wall = {name: float("inf") for name in contenders}
    cpu = dict(wall)
    for round_ in range(rounds):
        order = list(contenders.items())
        for name, fn in order if round_ % 2 == 0 else reversed(order):  # neither always first
            start, start_cpu = time.perf_counter(), time.process_time()
            vectors = fn(paths)
            wall[name] = min(wall[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
            assert len(vectors) == len(paths)
    return {name: (len(paths) / wall[name], len(paths) / cpu[name]) for name in contenders}


def real_model_dir() -> str | None:
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(REAL, local_files_only=True))
    except Exception:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    args = parser.parse_args()

    from chromabridge.embedders.tiny_clip import save_tiny_clip

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = draw_images(Path(tmp), args.images, args.size)
        tiny = str(save_tiny_clip(Path(tmp) / "tiny-clip"))
        models = [("tiny random CLIP", tiny)]
        real = real_model_dir()
        if real is not None:
            models.append((REAL, real))
        for label, folder in models:
            rates = measure(folder, paths, args.rounds)
            rows.append((label, rates["ClipEmbedder.embed_images"], rates["transformers direct"]))
    print(f"### Image embedding, {args.images} PNGs of {args.size}px, batch {BATCH}, CPU\n")
    print(
        "| model | ClipEmbedder images/s | transformers direct images/s | ratio (wall) "
        "| ratio (CPU time) |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, ours, raw in rows:
        print(
            f"| {label} | {ours[0]:.1f} | {raw[0]:.1f} | {ours[0] / raw[0]:.2f} "
            f"| {ours[1] / raw[1]:.2f} |"
        )
    if len(rows) == 1:
        print(f"\n{REAL} is not in the Hugging Face cache: only the tiny model was measured.")


if __name__ == "__main__":
    main()
