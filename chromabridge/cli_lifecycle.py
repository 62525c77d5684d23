"""`chromabridge reembed` and `chromabridge rollback`: change a collection's embedding
model without downtime (see `chromabridge.vectorstores.lifecycle`).

Registered on the main `app` by `chromabridge.cli`; kept apart so the main module stays
about ingestion and search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from chromabridge.errors import ConfigError
from chromabridge.types import Hit

from .cli import (
    DEFAULT_COLLECTION,
    DEFAULT_PATH,
    CloudOpt,
    CollectionOpt,
    HostOpt,
    JsonOpt,
    PathOpt,
    PortOpt,
    SharedOpt,
    _deployment,
    _embedder,
    _errors,
    _open,
    _usage,
    app,
    out,
)

__all__ = ["reembed", "rollback"]

NewEmbedderOpt = Annotated[
    str,
    typer.Option(
        "--embedder",
        "-e",
        help="The new model: local | local:MODEL | openai:MODEL | cohere:MODEL.",
        show_default=False,
    ),
]
OldEmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--old-embedder",
        help="The collection's current model, for --eval and rollback "
        "(default: the one it recorded).",
    ),
]


def _scores_table(scores: dict[str, dict[str, float]]) -> Table:
    table = Table(title="retrieval quality, old and new side by side")
    table.add_column("metric")
    for name in scores:
        table.add_column(name, justify="right")
    for metric in next(iter(scores.values())):
        table.add_row(metric, *(f"{scores[name][metric]:.4f}" for name in scores))
    return table


@app.command()
def reembed(
    embedder: NewEmbedderOpt,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    old_embedder: OldEmbedderOpt = None,
    eval_dataset: Annotated[
        Path | None,
        typer.Option(
            "--eval",
            help="A BEIR or Cranfield folder: print nDCG@10 and recall@100 of the old and "
            "the new collection before any swap.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    max_queries: Annotated[
        int | None, typer.Option("--max-queries", min=1, help="With --eval: the first N only.")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="BEIR qrels split.")] = "test",
    swap: Annotated[
        bool, typer.Option("--swap", help="Then serve the new collection under the name.")
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Records per page.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Re-embed a collection's stored records with another model into a shadow collection
    (resumable: run it again after a crash), optionally compare and swap it in."""
    from chromabridge.evaluate import compare, load_dataset

    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    data = None
    if eval_dataset is not None:
        try:
            data = load_dataset(eval_dataset, split)
        except ConfigError as exc:
            _usage(str(exc), "--eval")
    with _errors():
        store = _open(
            collection, deploy, old_embedder, must_exist=True, with_embedder=data is not None
        )
        new_model = _embedder(embedder, store.client, "")
        shadow = store.reembed(new_model, batch_size=batch_size)
        report = shadow.last_reembed
        result: dict[str, Any] = {
            "collection": collection,
            "shadow": shadow.name,
            "embedder": new_model.name,
            "embedded": report.embedded,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "cache_hits": report.cache_hits,
            "skipped": len(report.skipped_ids),
            "seconds": round(report.seconds, 2),
        }
        if data is not None:

            def searcher(target: Any) -> Any:
                def retrieve(text: str, n: int) -> list[Hit]:
                    hits: list[Hit] = target.query(text, k=n)
                    return hits

                return retrieve

            old_name = store.embedder.name if store.embedder else "old"
            scores = compare(
                data,
                {f"old ({old_name})": searcher(store), f"new ({new_model.name})": searcher(shadow)},
                max_queries,
            )
            result["eval"] = scores
            if not as_json:
                out.print(_scores_table(scores))
        if swap:
            result["backup"] = store.swap(shadow)
    if as_json:
        out.print_json(json.dumps(result))
        return
    out.print(
        f"{result['shadow']}: {result['embedded']} embedded, {result['unchanged']} unchanged, "
        f"{result['removed']} removed ({result['cache_hits']} from the cache) "
        f"in {result['seconds']} s"
    )
    if swap:
        out.print(f"{collection} now answers with {new_model.name}; old kept as {result['backup']}")
    else:
        out.print(f"swap it in: chromabridge reembed -c {collection} -e {embedder} --swap")


@app.command()
def rollback(
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Undo the last `reembed --swap`: the backup answers under the name again."""
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _errors():
        store = _open(collection, deploy, None, must_exist=True, with_embedder=False)
        undone = store.rollback()
    if as_json:
        out.print_json(json.dumps({"collection": collection, "kept_as": undone}))
    else:
        out.print(
            f"{collection} is back on its previous collection; the swapped-out one is {undone}"
        )
