"""The `chromabridge` command: ingest, query, collections, stats, delete, eval, serve,
reembed, rollback, server.

Exit codes: 0 everything worked; 1 a partial or runtime failure (the report or the
message names what); 2 a usage error (bad option, bad `--filter` JSON, unknown spec, or
any other `InputError`). The code follows the exception's type, never its message.
Every store option works the same in every command: `--path DIR` (default `./.chroma`),
`--host/--port` for a Chroma server, `--cloud` for Chroma Cloud (CHROMA_API_KEY...), and
`--shared` to share the `--path` directory with other processes (`server stop DIR` ends it).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from chromabridge.errors import ChromaBridgeError, ConfigError, FilterError, InputError
from chromabridge.types import DIMENSION_KEY, EMBEDDER_KEY, Hit

__all__ = ["app", "main"]

DEFAULT_PATH = Path(".chroma")
DEFAULT_COLLECTION = "chromabridge"

app = typer.Typer(
    name="chromabridge",
    help="Ingest files into Chroma and search them; collections readable by LangChain "
    "and LlamaIndex.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show model-loading progress bars and third-party notices."
        ),
    ] = False,
) -> None:
    from chromabridge.quiet import quiet

    quiet(verbose)


class Mode(str, Enum):
    incremental = "incremental"
    full = "full"


class TraceTo(str, Enum):
    console = "console"
    otlp = "otlp"


class Search(str, Enum):
    similarity = "similarity"
    mmr = "mmr"
    hybrid = "hybrid"


CollectionOpt = Annotated[
    str, typer.Option("--collection", "-c", help="Collection name.", show_default=True)
]
PathOpt = Annotated[
    Path | None,
    typer.Option("--path", help="Local store directory (default ./.chroma).", file_okay=False),
]
HostOpt = Annotated[str | None, typer.Option("--host", help="Chroma server host.")]
PortOpt = Annotated[int, typer.Option("--port", help="Chroma server port.")]
CloudOpt = Annotated[
    bool, typer.Option("--cloud", help="Chroma Cloud (CHROMA_API_KEY, CHROMA_TENANT...).")
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        "-e",
        help="local | local:MODEL | openai:MODEL | cohere:MODEL. "
        "Default: the collection's own, else local.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
TraceOpt = Annotated[
    TraceTo | None,
    typer.Option(
        "--trace",
        help="Export OpenTelemetry spans: console (stderr) or otlp (OTEL_EXPORTER_OTLP_* "
        "variables). Default: $CHROMABRIDGE_TRACE, else off.",
        show_default=False,
    ),
]
SharedOpt = Annotated[
    bool,
    typer.Option(
        "--shared",
        help="Share the --path directory with other processes through its local Chroma "
        "server (started on demand).",
    ),
]


def _usage(message: str, hint: str | None = None) -> NoReturn:
    raise typer.BadParameter(message, param_hint=hint)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(1)


@contextmanager
def _tracing(to: TraceTo | None) -> Iterator[None]:
    """Spans exported for the duration of one command, flushed before it returns."""
    from chromabridge import telemetry

    with _errors(), telemetry.exporting(to.value if to is not None else None):
        yield


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors without a traceback: a caller mistake (`InputError`) is a usage error
    (exit code 2), anything else one line on stderr and exit code 1."""
    try:
        yield
    except (typer.Exit, typer.BadParameter, typer.Abort):
        raise
    except InputError as exc:
        _usage(str(exc))
    except ChromaBridgeError as exc:
        _fail(str(exc).replace("[", r"\["))


def _deployment(
    path: Path | None,
    host: str | None,
    port: int,
    cloud: bool,
    default_path: Path | None,
    shared: bool = False,
) -> dict[str, Any]:
    chosen = [name for name, v in (("--path", path), ("--host", host), ("--cloud", cloud)) if v]
    if len(chosen) > 1:
        _usage(f"choose one deployment, got {' and '.join(chosen)}")
    if shared:
        if host or cloud or (path or default_path) is None:
            _usage("--shared applies to a local directory (--path)", "--shared")
        return {"path": path or default_path, "shared": True}
    if host:
        return {"host": host, "port": port}
    if cloud:
        return {
            "cloud": True,
            "api_key": os.environ.get("CHROMA_API_KEY"),
            "tenant": os.environ.get("CHROMA_TENANT"),
            "database": os.environ.get("CHROMA_DATABASE"),
        }
    chosen_path = path or default_path
    return {"path": chosen_path} if chosen_path is not None else {}


def _client(deploy: dict[str, Any]) -> Any:
    from chromabridge.vectorstores.clients import connect

    return connect(**deploy).sync


def _recorded_embedder(client: Any, collection: str) -> str | None:
    """The embedder a collection remembers (its metadata), or None if it has none/none yet."""
    try:
        metadata = client.get_collection(collection).metadata or {}
    except Exception:  # missing collection: the caller decides whether that is an error
        return None
    name = metadata.get(EMBEDDER_KEY)
    return name if isinstance(name, str) else None


def _collection_exists(client: Any, collection: str) -> bool:
    return collection in {getattr(c, "name", c) for c in client.list_collections()}


def _embedder(spec: str | None, client: Any, collection: str) -> Any:
    from chromabridge.specs import DEFAULT_EMBEDDER, SpecError, make_embedder, spec_of

    if spec is None:
        recorded = _recorded_embedder(client, collection)
        spec = (spec_of(recorded) if recorded else None) or DEFAULT_EMBEDDER
        if recorded and spec_of(recorded) is None:
            _usage(
                f"collection {collection!r} was filled by embedder {recorded!r}; "
                "name it with --embedder",
                "--embedder",
            )
    try:
        return make_embedder(spec)
    except SpecError as exc:
        _usage(str(exc), "--embedder")


def _chunker(spec: str, embedder: Any) -> Any:
    """The `--chunker` spec as a chunker that fits the embedder's window, or a usage error."""
    from chromabridge.pipeline import check_chunk_size
    from chromabridge.specs import make_chunker

    try:
        cutter = make_chunker(spec, embedder)
        if embedder is not None:
            check_chunk_size(cutter, embedder)
    except InputError as exc:
        _usage(str(exc), "--chunker")
    return cutter


def _open(
    collection: str,
    deploy: dict[str, Any],
    embedder: str | None,
    *,
    must_exist: bool,
    with_embedder: bool = True,
    reopenable: bool = False,
) -> Any:
    """The store; `reopenable`: opened from its deployment (not an injected client) so
    that other processes (Ray workers) can open it too."""
    from chromabridge.vectorstores import ChromaStore

    client = _client(deploy)
    if must_exist and not _collection_exists(client, collection):
        _fail(
            f"no collection {collection!r} in this store; ingest into it first, or see "
            "`chromabridge collections`"
        )
    model = _embedder(embedder, client, collection) if with_embedder else None
    # A shared store keeps the directory (the hybrid index lives by it).
    if deploy.get("shared") or (reopenable and (deploy.get("host") or deploy.get("cloud"))):
        return ChromaStore(collection, embedder=model, **deploy)
    return ChromaStore(collection, client=client, embedder=model)


# -- ingest ---------------------------------------------------------------------------


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files and directories to ingest.", show_default=False)
    ],
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    embedder: EmbedderOpt = None,
    chunker: Annotated[
        str | None,
        typer.Option(
            "--chunker",
            help="recursive:SIZE:OVERLAP[:tokens] or sentence-window:N "
            "[default: recursive:200:20:tokens, smaller for CLIP].",
        ),
    ] = None,
    mode: Annotated[
        Mode, typer.Option("--mode", help="full also removes files that vanished.")
    ] = Mode.incremental,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Glob of files to take (repeatable).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Glob of files to skip (repeatable).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Parsing processes [default: 1]; with --ray, Ray workers [default: one per CPU].",
        ),
    ] = None,
    use_ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Spread loading, chunking and embedding over Ray workers (needs a server, "
            "cloud or --shared store; pip install 'chromabridge[ray]').",
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster to join (auto, ray://HOST:10001)."),
    ] = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images", help="Store image files whole, as images (needs --embedder clip)."
        ),
    ] = False,
    file_timeout: Annotated[
        float, typer.Option("--file-timeout", min=0.1, help="Seconds one file may take to parse.")
    ] = 300.0,
    file_memory: Annotated[
        int, typer.Option("--file-memory", min=1, help="MiB one file may take to parse.")
    ] = 4096,
    as_json: JsonOpt = False,
    trace: TraceOpt = None,
) -> None:
    """Load, chunk, embed and store files; unchanged files are skipped.

    Exit code 1 when some files could not be ingested (they are listed).
    """
    from chromabridge.embedders import supports_images
    from chromabridge.pipeline import Pipeline
    from chromabridge.specs import default_chunker, make_loaders

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _usage(f"no such file or directory: {', '.join(missing)}", "PATHS")
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _tracing(trace), _errors():
        use_ray = use_ray or ray_address is not None
        store = _open(collection, deploy, embedder, must_exist=False, reopenable=use_ray)
        if images and not supports_images(store.embedder):
            _usage("needs an embedder that embeds images: --embedder clip[:MODEL]", "--images")
        cutter = _chunker(chunker or default_chunker(store.embedder), store.embedder)
        budgets = {"file_timeout": file_timeout, "file_memory": file_memory * 2**20}
        loaders = make_loaders(
            paths,
            include=include,
            exclude=exclude,
            workers=1 if use_ray else workers or 1,
            images=images,
            budgets=budgets,
        )
        executor = None
        if use_ray:
            from chromabridge.distributed import RayExecutor

            executor = RayExecutor(ray_address, num_workers=workers)
        pipeline = Pipeline(
            loaders, cutter, None, store, mode=mode.value, batch_size=batch_size, executor=executor
        )
        report = pipeline.run()
    if as_json:
        out.print_json(report.to_json())
    else:
        out.print(report)
    raise typer.Exit(report.exit_code)


# -- query ----------------------------------------------------------------------------


def _parse_filter(text: str | None) -> Any:
    if text is None:
        return None
    try:
        where = json.loads(text)
    except json.JSONDecodeError as exc:
        _usage(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f'(give a JSON object such as \'{{"lang": "en"}}\')',
            "--filter",
        )
    if not isinstance(where, dict):
        _usage(f"must be a JSON object, got {type(where).__name__}", "--filter")
    from chromabridge.vectorstores import to_chroma_where

    try:
        to_chroma_where(where)
    except FilterError as exc:
        _usage(str(exc), "--filter")
    return where


def _search(
    store: Any, text: str | None, k: int, where: Any, search: Search, image: Path | None = None
) -> list[Hit]:
    if image is not None:
        if search is not Search.similarity:
            _usage("--image searches by similarity only; drop --mode", "--image")
        return list(store.query(image=str(image), k=k, where=where))
    assert text is not None
    if search is Search.similarity:
        return list(store.query(text, k=k, where=where))
    if search is Search.mmr:
        return list(store.mmr(text, k=k, fetch_k=max(20, 4 * k), where=where))
    from chromabridge.retrievers import HybridRetriever

    retriever = HybridRetriever(store)
    try:
        return list(retriever.retrieve(text, k=k, where=where))
    finally:
        retriever.close()


def _hit_json(rank: int, hit: Hit) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "rank": rank,
        "id": chunk.id,
        "doc_id": chunk.doc_id,
        "source": chunk.metadata.get("source"),
        "score": hit.score,
        "distance": hit.distance,
        "text": chunk.text,
        "metadata": chunk.metadata,
    }


@app.command()
def query(
    text: Annotated[
        str | None, typer.Argument(help="What to search for.", show_default=False)
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Number of results.")] = 4,
    filter_json: Annotated[
        str | None,
        typer.Option(
            "--filter", help='Metadata filter as JSON, e.g. \'{"filetype": "text/markdown"}\'.'
        ),
    ] = None,
    search: Annotated[Search, typer.Option("--mode", help="How to search.")] = Search.similarity,
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    embedder: EmbedderOpt = None,
    image: Annotated[
        Path | None,
        typer.Option("--image", help="Search by this image instead of TEXT.", dir_okay=False),
    ] = None,
    as_json: JsonOpt = False,
    trace: TraceOpt = None,
) -> None:
    """Search a collection by text (or by an image, --image); prints rank, score,
    source and text."""
    if (text is None) == (image is None):
        _usage("give TEXT or --image PATH (one of them)", "TEXT")
    if image is not None and not image.is_file():
        _usage(f"no such image file: {image}", "--image")
    where = _parse_filter(filter_json)
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _tracing(trace), _errors():
        store = _open(collection, deploy, embedder, must_exist=True)
        hits = _search(store, text, k, where, search, image)
    if as_json:
        out.print_json(json.dumps([_hit_json(i, h) for i, h in enumerate(hits, 1)]))
        return
    table = Table(title=f"{search.value} search in {collection}: {text or image}")
    for column in ("#", "score", "source", "text"):
        table.add_column(column, overflow="fold")
    for i, hit in enumerate(hits, 1):
        source = str(hit.chunk.metadata.get("source") or hit.chunk.doc_id)
        snippet = " ".join(hit.chunk.text.split())
        table.add_row(str(i), f"{hit.score:.3f}", source, snippet[:300])
    out.print(table)


# -- collections, stats, delete -------------------------------------------------------


@app.command()
def collections(
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List the collections of a store with their record counts and embedders."""
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _errors():
        client = _client(deploy)
        rows = []
        for item in client.list_collections():
            found = client.get_collection(getattr(item, "name", item))
            rows.append(
                {
                    "name": found.name,
                    "records": found.count(),
                    "embedder": (found.metadata or {}).get(EMBEDDER_KEY),
                }
            )
    rows.sort(key=lambda row: str(row["name"]))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="collections")
    for column in ("name", "records", "embedder"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["name"]), str(row["records"]), str(row["embedder"] or "-"))
    out.print(table)


@app.command()
def stats(
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Records, documents, sources and the embedder of one collection."""
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _errors():
        store = _open(collection, deploy, None, must_exist=True, with_embedder=False)
        docs = store.documents()
        metadata = store.metadata
        data = {
            "collection": collection,
            "records": store.count(),
            "documents": len(docs),
            "sources": len({source for source, _ in docs.values() if source}),
            "embedder": metadata.get(EMBEDDER_KEY),
            "dimension": metadata.get(DIMENSION_KEY),
            "distance": store.distance,
        }
    if as_json:
        out.print_json(json.dumps(data))
        return
    table = Table(title=f"stats: {collection}", show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value if value is not None else "-"))
    out.print(table)


def _matches(source: str | None, wanted: list[str]) -> bool:
    from chromabridge.changes import in_scope

    return in_scope(source, wanted, wanted)


@app.command()
def delete(
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            help="Delete the documents of this file, or of every file under this directory "
            "(repeatable).",
            show_default=False,
        ),
    ],
    collection: CollectionOpt = DEFAULT_COLLECTION,
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove every chunk of the documents that came from the given sources."""
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _errors():
        store = _open(collection, deploy, None, must_exist=True, with_embedder=False)
        docs = store.documents()
        gone = [doc for doc, (src, _) in docs.items() if _matches(src, source)]
        if gone:
            store.delete(doc_id=gone)
    data = {"documents": len(gone), "chunks": sum(docs[d].chunks for d in gone)}
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(f"deleted {data['documents']} documents ({data['chunks']} chunks)")
    if not gone:
        err.print(f"no stored document came from {', '.join(source)}")


# -- eval -----------------------------------------------------------------------------


@app.command(name="eval")
def evaluate_command(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or the "
            "Cranfield folder (cran.all.1400, cran.qry, cranqrel).",
            exists=True,
            file_okay=False,
            show_default=False,
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Cut-off for the metrics.")] = 10,
    search: Annotated[Search, typer.Option("--mode", help="How to search.")] = Search.similarity,
    split: Annotated[str, typer.Option("--split", help="BEIR qrels split.")] = "test",
    max_queries: Annotated[
        int | None, typer.Option("--max-queries", min=1, help="Evaluate the first N only.")
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Default: eval-<dataset>.")
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Keep the index in this directory (default: memory)."),
    ] = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    embedder: EmbedderOpt = None,
    chunker: Annotated[
        str, typer.Option("--chunker", help="recursive:SIZE:OVERLAP[:tokens] or sentence-window:N.")
    ] = "recursive:200:20:tokens",
    as_json: JsonOpt = False,
) -> None:
    """Ingest a labelled dataset and report nDCG@k, recall@k and MRR@k."""
    from chromabridge.evaluate import DatasetLoader, evaluate, load_dataset
    from chromabridge.pipeline import Pipeline

    deploy = _deployment(path, host, port, cloud, None, shared)
    try:
        data = load_dataset(dataset, split)
    except ConfigError as exc:
        _usage(str(exc), "DATASET")
    with _errors():
        name = collection or f"eval-{data.name}".lower().replace("_", "-")
        store = _open(name, deploy, embedder, must_exist=False)
        cutter = _chunker(chunker, store.embedder)
        report = Pipeline(DatasetLoader(data), cutter, None, store).run()

        def retrieve(text: str, n: int) -> list[Hit]:
            return _search(store, text, n, None, search)

        scores = evaluate(data, retrieve, k=k, max_queries=max_queries)
    result: dict[str, Any] = {
        "dataset": data.name,
        "documents": len(data.corpus),
        "mode": search.value,
        "embedder": store.embedder.name if store.embedder else None,
        "chunker": chunker,
        **scores,
        "ingest_seconds": round(report.total_seconds, 2),
    }
    result["queries"] = int(scores["queries"])
    if as_json:
        out.print_json(json.dumps(result))
        return
    table = Table(title=f"eval {data.name}", show_header=False)
    for key, value in result.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    out.print(table)


# -- serve ----------------------------------------------------------------------------


def _loopback(bind: str) -> bool:
    import ipaddress

    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    path: PathOpt = None,
    host: HostOpt = None,
    port: PortOpt = 8000,
    cloud: CloudOpt = False,
    shared: SharedOpt = False,
    embedder: EmbedderOpt = None,
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on.")] = "127.0.0.1",
    listen_port: Annotated[
        int, typer.Option("--listen-port", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CHROMABRIDGE_TOKEN",
            help="Require `Authorization: Bearer TOKEN` on every API call (needed to bind "
            "beyond loopback).",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of evaluation datasets; the API reads datasets only from here.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Serve the retrieval API and the inspection page (http://BIND:LISTEN-PORT/)."""
    if not _loopback(bind) and not token:
        _usage(f"binding to {bind} exposes the store; give --token as well", "--bind")
    try:
        import uvicorn

        from chromabridge.server import create_app
    except ImportError as exc:
        _fail(f"serve needs the server extra: pip install 'chromabridge[server]' ({exc.name})")
    deploy = _deployment(path, host, port, cloud, DEFAULT_PATH, shared)
    with _errors():
        web_app = create_app(embedder=embedder, data_dir=data_dir, token=token, **deploy)
    err.print(f"serving on http://{bind}:{listen_port}/", highlight=False)
    uvicorn.run(web_app, host=bind, port=listen_port, log_level="warning")


# -- server ---------------------------------------------------------------------------

server_app = typer.Typer(
    help="The local Chroma server that --shared starts for a directory.", no_args_is_help=True
)
app.add_typer(server_app, name="server")
DirArg = Annotated[Path, typer.Argument(help="The store directory.", file_okay=False)]


@server_app.command("status")
def server_status(directory: DirArg, as_json: JsonOpt = False) -> None:
    """Say whether DIR has a running shared server, its port and pids (exit 1: none)."""
    from chromabridge.vectorstores.shared import server_info

    info = server_info(directory)
    data = (
        {"running": True, "port": info.port, "pid": info.pid, "server_pid": info.server_pid}
        if info
        else {"running": False}
    )
    if as_json:
        out.print_json(json.dumps(data))
    else:
        out.print(", ".join(f"{k}: {v}" for k, v in data.items()))
    raise typer.Exit(0 if info else 1)


@server_app.command("stop")
def server_stop(directory: DirArg) -> None:
    """Stop DIR's shared server now (clients' next calls fail until one starts it again)."""
    from chromabridge.vectorstores.shared import stop_server

    with _errors():
        stopped = stop_server(directory)
    out.print(f"stopped the shared server of {directory}" if stopped else "no server running")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (`chromabridge = "chromabridge.cli:main"`)."""
    command: Callable[..., Any] = typer.main.get_command(app)
    command(args=argv if argv is not None else sys.argv[1:], prog_name="chromabridge")


# reembed / rollback register themselves on `app` (collection lifecycle, kept apart).
from chromabridge import cli_lifecycle  # noqa: E402,F401
