"""chromabridge: Chroma as a first-class vector store for LangChain and LlamaIndex."""

from pathlib import Path as _Path

# The plugin folders (vectorstores/, embedders/, ...) sit beside this one in a source
# checkout and are mapped into `chromabridge.*` at install time (pyproject's package-dir).
# When Python finds this folder first (a script or REPL started in the checkout), map the
# same five names, and only those: putting the checkout itself on `__path__` would also
# make `chromabridge.chromabridge` (a second copy of every class) and `chromabridge.tests`
# importable. An installed tree already holds the subpackages and is left alone.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "vectorstores" / "__init__.py").is_file() and not (
    _Path(__file__).parent / "vectorstores"
).is_dir():
    from chromabridge._sourcetree import install as _install

    _install(__name__, _checkout)

from typing import TYPE_CHECKING, Any  # noqa: E402

from chromabridge import errors  # noqa: E402
from chromabridge.types import Chunk, Document, Hit  # noqa: E402

if TYPE_CHECKING:
    from chromabridge.pipeline import Pipeline
    from chromabridge.report import IngestReport

__all__ = ["Chunk", "Document", "Hit", "IngestReport", "Pipeline", "errors"]
__version__ = "0.1.0"

# Pipeline pulls in chromadb; load it (and the report, for symmetry) on first access so
# `import chromabridge` stays cheap for users of the types alone.
_LAZY = {"Pipeline": "chromabridge.pipeline", "IngestReport": "chromabridge.report"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
