"""Images beside text: ingest a folder of pictures and notes, search it by text and by image.

    python examples/multimodal.py                      # generated folder, ./.chroma-images
    python examples/multimodal.py --model DIR_OR_NAME  # a CLIP model of your choice

CLIP puts texts and images in one vector space, so a text question finds pictures and a
picture finds similar pictures and the notes about them. The default model is
openai/clip-vit-base-patch32 when it is in the Hugging Face cache; without it (no
network here) the example builds a tiny random CLIP so the plumbing still runs: its
rankings are then arbitrary, except that every image finds itself first.

Run it twice: the second run skips every file (nothing changed, nothing embedded).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from rich.console import Console

from chromabridge import Pipeline
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import ClipEmbedder
from chromabridge.embedders.clip import DEFAULT_CLIP_MODEL
from chromabridge.errors import ConfigError
from chromabridge.loaders import DirectoryLoader
from chromabridge.vectorstores import ChromaStore

SHAPES = [("circle", "red"), ("square", "blue"), ("triangle", "green"), ("circle", "gold")]


def make_folder(root: Path) -> Path:
    """Pictures of coloured shapes and a note describing them (kept if already there:
    a rewritten file is a changed file, and the next run would re-embed it)."""
    if (root / "notes.md").exists():
        return root
    (root / "pictures").mkdir(parents=True, exist_ok=True)
    for shape, color in SHAPES:
        image = Image.new("RGB", (96, 96), "white")
        pen = ImageDraw.Draw(image)
        if shape == "circle":
            pen.ellipse([(16, 16), (80, 80)], fill=color)
        elif shape == "square":
            pen.rectangle([(16, 16), (80, 80)], fill=color)
        else:
            pen.polygon([(48, 8), (88, 88), (8, 88)], fill=color)
        image.save(root / "pictures" / f"{color}-{shape}.png")
    lines = [f"The {color} {shape} sits on a white page." for shape, color in SHAPES]
    (root / "notes.md").write_text("# Shapes\n\n" + "\n\n".join(lines) + "\n")
    return root


def load_clip(model: str | None, console: Console) -> ClipEmbedder:
    try:
        return ClipEmbedder(model or DEFAULT_CLIP_MODEL)
    except ConfigError:
        if model is not None:
            raise
    from chromabridge.embedders.tiny_clip import save_tiny_clip

    folder = Path(tempfile.gettempdir()) / "chromabridge-tiny-clip"
    console.print(f"[yellow]{DEFAULT_CLIP_MODEL} is not cached: using a tiny random CLIP[/]")
    return ClipEmbedder(save_tiny_clip(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=".chroma-images", help="store directory")
    parser.add_argument("--data", type=Path, default=Path(".chroma-images-data"))
    parser.add_argument("--model", default=None, help="CLIP hub name or saved folder")
    parser.add_argument("--question", default="a red circle")
    args = parser.parse_args()

    console = Console()
    folder = make_folder(args.data)
    clip = load_clip(args.model, console)
    store = ChromaStore("shapes", path=args.path, embedder=clip)
    # Text is chunked within CLIP's 75-token window; images are stored whole.
    chunker = RecursiveChunker(60, 0, length="tokens", tokenizer=clip.tokenizer)
    loader = DirectoryLoader(folder, images=True)
    report = Pipeline(loader, chunker, clip, store, mode="full").run()
    console.print(
        f"ingested: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged; {store.count()} records"
    )

    console.print(f"\nQ: {args.question}")
    for hit in store.query(text=args.question, k=3):
        kind = "image" if hit.chunk.is_image else "text "
        console.print(f"  {kind} {hit.score:.3f} source: {hit.chunk.metadata['source']}")

    picture = folder / "pictures" / "red-circle.png"
    console.print(f"\nby image: {picture}")
    for hit in store.query(image=picture, k=3, where={"modality": "image"}):
        console.print(f"  image {hit.score:.3f} source: {hit.chunk.metadata['source']}")


if __name__ == "__main__":
    main()
