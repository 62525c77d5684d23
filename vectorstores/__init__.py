"""The native Chroma store and filter translation (no framework imports here)."""

from .filters import ChromaFilter, to_chroma_filter, to_chroma_where, validate_where_document
from .metadata import normalize_metadata
from .reads import DocumentInfo
from .store import ChromaStore

__all__ = [
    "ChromaFilter",
    "ChromaStore",
    "DocumentInfo",
    "normalize_metadata",
    "to_chroma_filter",
    "to_chroma_where",
    "validate_where_document",
]
