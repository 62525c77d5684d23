"""`chromabridge serve`: a retrieval HTTP API and a page to inspect collections.

Needs the `server` extra (fastapi, uvicorn). `create_app(path=".chroma")` returns the
FastAPI app; run it with any ASGI server, or use the `chromabridge serve` command.
"""

from .app import MAX_K, create_app

__all__ = ["MAX_K", "create_app"]
