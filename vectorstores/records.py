"""The stored record schema (docs/design.md §3): Chunk <-> record, distance -> score.

Each chunk is one record whose metadata is the user's (normalised) plus bookkeeping (a
user key of the same name holding another value is kept as ``user.<key>``):
`doc_id`, `document_id`, `ref_doc_id` (the source document, under the names LangChain,
stock LlamaIndex and other stores look for), `chunk_index`, `start_char`, `end_char`, and
`relationships` = ``{"1": "<doc id>"}``.

Why `relationships` rather than LlamaIndex's `_node_content`: stock LlamaIndex rebuilds
`ref_doc_id` from either. `_node_content` is a JSON copy of the whole node, metadata
included, so every record would hold its metadata twice and the copy would go stale the
moment anyone edits the flat keys. The legacy `relationships` key is 20 bytes, has one
meaning, and stock LlamaIndex still reads it. Records written by stock LlamaIndex (with
`_node_content`) are read here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

from chromabridge.types import RESERVED_KEYS, Chunk

from .metadata import normalize_metadata

__all__ = [
    "Space",
    "HIDDEN_KEYS",
    "chunk_metadata",
    "is_image_record",
    "record_text",
    "shown_metadata",
    "stored_doc_id",
    "record_to_chunk",
    "relevance",
    "relevances",
    "user_metadata",
]

Space = Literal["cosine", "l2", "ip"]

#: Keys never shown to users of the framework faces (`source`, `window`... stay).
HIDDEN_KEYS = RESERVED_KEYS | {"_node_content", "_node_type"}
_NODE_KEYS = ("_node_content", "_node_type")
#: Bookkeeping that lives in Chunk fields, not in `Chunk.metadata` (`content_hash` stays).
_NOT_CHUNK_METADATA = (RESERVED_KEYS - {"content_hash"}) | set(_NODE_KEYS)
#: Keys written from Chunk fields (content_hash and source travel in the metadata).
_FIELD_KEYS = (
    "doc_id",
    "document_id",
    "ref_doc_id",
    "relationships",
    "chunk_index",
    "start_char",
    "end_char",
)
_SOURCE = "1"  # LlamaIndex NodeRelationship.SOURCE


@lru_cache(maxsize=4096)
def _relationships(doc_id: str) -> str:
    """The legacy LlamaIndex link to the source document (cached: a document's chunks
    are written together and share it)."""
    return json.dumps({_SOURCE: doc_id})


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """The metadata stored for `chunk`: normalised user keys plus bookkeeping."""
    meta = normalize_metadata(chunk.metadata)
    for key in _NODE_KEYS:  # a copied node JSON would contradict the fields below
        meta.pop(key, None)
    own: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "document_id": chunk.doc_id,
        "ref_doc_id": chunk.doc_id,
        "relationships": _relationships(chunk.doc_id),
        "chunk_index": chunk.index,
    }
    if chunk.start is not None:
        own["start_char"] = chunk.start
    if chunk.end is not None:
        own["end_char"] = chunk.end
    for key in _FIELD_KEYS:
        previous = meta.pop(key, None)
        if previous is not None and previous != own.get(key):  # the user's key of that name
            meta[f"user.{key}"] = previous
    meta.update(own)
    return meta


def _json(value: Any) -> dict[str, Any]:
    if not isinstance(value, str) or not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _ref(value: Any) -> str | None:
    # stock LlamaIndex writes the string "None" for nodes without a source document
    return value if isinstance(value, str) and value and value != "None" else None


def _source_of(relationships: Mapping[str, Any]) -> str | None:
    info = relationships.get(_SOURCE)
    if isinstance(info, Mapping):
        return _ref(info.get("node_id"))
    return _ref(info)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stored_doc_id(metadata: Mapping[str, Any]) -> str | None:
    """The `doc_id` key as our records hold it; None for records of other writers (their
    source document is found by `record_to_chunk`'s fallbacks)."""
    doc_id = metadata.get("doc_id")
    return doc_id if type(doc_id) is str and doc_id and doc_id != "None" else None


def record_to_chunk(record_id: str, text: str | None, metadata: Mapping[str, Any] | None) -> Chunk:
    """Rebuild a Chunk from a record written by us, stock LangChain or stock LlamaIndex.

    Runs for every hit of every query, so our own records take a short path; the
    fallbacks (stock LlamaIndex's `_node_content`, legacy `relationships`) only run
    for records that need them.
    """
    meta = metadata or {}
    doc_id = stored_doc_id(meta)
    if doc_id is not None and text is not None and "_node_content" not in meta:
        # ours: every field is in the flat keys
        index, start, end = meta.get("chunk_index"), meta.get("start_char"), meta.get("end_char")
        return Chunk(
            record_id,
            doc_id,
            text,
            {k: v for k, v in meta.items() if k not in _NOT_CHUNK_METADATA},
            index if type(index) is int else 0,
            start if type(start) is int else None,
            end if type(end) is int else None,
        )
    index = meta.get("chunk_index")
    index = index if type(index) is int else None
    start = meta.get("start_char")
    start = start if type(start) is int else None
    end = meta.get("end_char")
    end = end if type(end) is int else None
    node: dict[str, Any] = {}
    if "_node_content" in meta and (doc_id is None or text is None or start is None):
        node = _json(meta["_node_content"])
    if doc_id is None:
        doc_id = (
            _ref(meta.get("ref_doc_id"))
            or _ref(meta.get("document_id"))
            or _source_of(_json(meta.get("relationships")))
            or _source_of(node.get("relationships") or {})
            or record_id
        )
    return Chunk(
        id=record_id,
        doc_id=doc_id,
        text=text if text is not None else str(node.get("text") or ""),
        metadata={k: v for k, v in meta.items() if k not in _NOT_CHUNK_METADATA},
        index=index if index is not None else 0,
        start=start if start is not None else _int(node.get("start_char_idx")),
        end=end if end is not None else _int(node.get("end_char_idx")),
    )


def user_metadata(chunk: Chunk) -> dict[str, Any]:
    """Metadata as framework users see it: bookkeeping hidden, `source` kept."""
    return shown_metadata(chunk.metadata)


def shown_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A record's stored metadata as framework users see it (as `user_metadata` of its
    chunk): bookkeeping hidden, `source` kept."""
    return {k: v for k, v in (metadata or {}).items() if k not in HIDDEN_KEYS}


def record_text(text: str | None, metadata: Mapping[str, Any] | None) -> str:
    """A record's text as `record_to_chunk` reads it (stock LlamaIndex records without a
    document keep it in `_node_content`)."""
    if text is not None:
        return text
    return str(_json((metadata or {}).get("_node_content")).get("text") or "")


def is_image_record(metadata: Mapping[str, Any] | None) -> bool:
    """True for an image record (as `Chunk.is_image` of its chunk)."""
    return metadata is not None and metadata.get("modality") == "image"


def relevance(distance: float, space: Space) -> float:
    """Map Chroma's distance to a score where higher is better.

    * cosine: Chroma returns ``1 - cos``; score is the cosine similarity, in [-1, 1].
    * ip: Chroma returns ``1 - dot``; score is the dot product (the cosine for unit vectors).
    * l2: Chroma returns the *squared* Euclidean distance; score is ``1 / (1 + d)``, in
      (0, 1], 1 for an exact match. (For unit vectors ``1 - d / 2`` would be the cosine,
      but l2 collections are usually chosen for vectors that are not unit length.)
    """
    return relevances((distance,), space)[0]


def relevances(distances: Iterable[float], space: Space) -> list[float]:
    """`relevance` of each of a query's distances, in one loop per query."""
    if space == "l2":
        return [1.0 / (1.0 + max(d, 0.0)) for d in distances]
    if space == "cosine":  # float32 rounding gives -1e-7 for an exact match: never above 1
        return [1.0 - max(d, 0.0) for d in distances]
    return [1.0 - d for d in distances]
