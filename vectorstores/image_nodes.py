"""LlamaIndex `ImageNode`s <-> image records, for the LlamaIndex face.

An `ImageNode` names its image by `image_path`, `image_url` or inline base64 `image`;
the record keeps that address as its text and `source` (inline images as a data URI),
so `MultiModalVectorStoreIndex` over our store gets `ImageNode`s back that its
multi-modal LLMs can open.
"""

from __future__ import annotations

from llama_index.core.schema import ImageNode, NodeRelationship, RelatedNodeInfo

from chromabridge.errors import InputError, LoaderError
from chromabridge.images import image_chunk, read_image
from chromabridge.types import Chunk

from .records import user_metadata

__all__ = ["chunk_to_image_node", "image_node_to_chunk"]


def image_node_to_chunk(node: ImageNode) -> Chunk:
    """The record of an `ImageNode`; the image is read to describe it (size, hash)."""
    if node.image:
        mime = node.image_mimetype or "image/png"
        source = f"data:{mime};base64,{node.image}"
    else:
        source = node.image_path or node.image_url or ""
    if not source:
        raise InputError(f"ImageNode {node.node_id!r} has no image, image_path or image_url")
    try:
        image = read_image(source)
    except LoaderError as exc:
        raise InputError(f"ImageNode {node.node_id!r}: {exc}") from exc
    return image_chunk(
        image,
        id=node.node_id,
        doc_id=node.ref_doc_id or node.node_id,
        metadata=node.metadata,
        store_bytes=bool(node.image),
    )


def chunk_to_image_node(chunk: Chunk) -> ImageNode:
    """An image record as an `ImageNode` pointing at the image (path, URL or inline)."""
    address = chunk.text
    mime = chunk.metadata.get("mime_type")
    fields: dict[str, str] = {}
    if address.startswith("data:"):
        fields["image"] = address.partition(",")[2]
    elif address.startswith(("http://", "https://")):
        fields["image_url"] = address
    else:
        fields["image_path"] = address
    return ImageNode(
        id_=chunk.id,
        metadata=user_metadata(chunk),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
        image_mimetype=mime if isinstance(mime, str) else None,
        **fields,
    )
