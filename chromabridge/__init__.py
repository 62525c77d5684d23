"""chromabridge: Chroma as a first-class vector store for LangChain and LlamaIndex."""

from chromabridge import errors
from chromabridge.types import Chunk, Document, Hit

__all__ = ["Chunk", "Document", "Hit", "errors"]
__version__ = "0.1.0"
