"""LlamaIndex face: any chromabridge chunker as a `NodeParser`.

Usable wherever LlamaIndex takes a node parser: `IngestionPipeline(transformations=[
chunker.as_llamaindex(), embed_model])`, `VectorStoreIndex.from_documents(...,
transformations=[...])`, `get_nodes_from_documents`. Nodes carry `ref_doc_id` (a SOURCE
relationship to the input), PREVIOUS/NEXT relationships, exact `start_char_idx` /
`end_char_idx`, and the chunk ids chromabridge would use (deterministic, so re-ingesting
upserts instead of duplicating).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, MetadataMode, NodeRelationship, TextNode
from llama_index.core.utils import get_tqdm_iterable

from chromabridge.types import RESERVED_KEYS
from chromabridge.types import Document as NativeDocument

from .base import BaseChunker

__all__ = ["LlamaIndexNodeParser"]


class LlamaIndexNodeParser(NodeParser):
    """Splits LlamaIndex documents or nodes with a chromabridge chunker."""

    chunker: Any = Field(description="The chromabridge chunker doing the work.", exclude=True)
    chunker_config: str = Field(
        default="",
        description="repr of the chunker: IngestionPipeline's cache key hashes this.",
    )

    def __init__(self, chunker: BaseChunker, **kwargs: Any) -> None:
        kwargs.setdefault("chunker_config", repr(chunker))
        kwargs["chunker"] = chunker  # a pydantic field, so it goes in as data
        super().__init__(**kwargs)

    @classmethod
    def from_chunker(cls, chunker: BaseChunker, **kwargs: Any) -> LlamaIndexNodeParser:
        return cls(chunker, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "ChromaBridgeNodeParser"

    def _parse_nodes(
        self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any
    ) -> list[BaseNode]:
        chunker: BaseChunker = self.chunker
        hidden = list(chunker.hidden_metadata_keys)
        out: list[BaseNode] = []
        for node in get_tqdm_iterable(nodes, show_progress, "Parsing nodes"):
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            source = {NodeRelationship.SOURCE: node.as_related_node_info()}
            native = NativeDocument(id=node.node_id, text=text)
            for chunk in chunker.chunk(native):
                meta = {k: v for k, v in chunk.metadata.items() if k not in RESERVED_KEYS}
                piece = TextNode(
                    id_=chunk.id,
                    text=chunk.text,
                    metadata=meta,
                    start_char_idx=chunk.start,
                    end_char_idx=chunk.end,
                    excluded_embed_metadata_keys=[*node.excluded_embed_metadata_keys, *hidden],
                    excluded_llm_metadata_keys=[*node.excluded_llm_metadata_keys, *hidden],
                    metadata_seperator=node.metadata_separator,
                    metadata_template=node.metadata_template,
                    text_template=node.text_template,
                    relationships=dict(source),
                )
                out.append(piece)
        return out

    def _postprocess_parsed_nodes(
        self, nodes: list[BaseNode], parent_doc_map: dict[str, Document]
    ) -> list[BaseNode]:
        """LlamaIndex's metadata and prev/next pass, keeping our exact offsets.

        The stock pass re-derives offsets with `str.find`, which picks the wrong place
        when a short chunk ("Yes.") also occurs earlier in the document.
        """
        offsets = [(n.start_char_idx, n.end_char_idx) for n in nodes if isinstance(n, TextNode)]
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        text_nodes = [n for n in nodes if isinstance(n, TextNode)]
        for node, (start, end) in zip(text_nodes, offsets, strict=True):
            node.start_char_idx, node.end_char_idx = start, end
        return nodes
