"""Images as chromabridge handles them: read once, described, and marked in the store.

An image reaches us as a path, a URI (``file://``, ``data:``, ``http(s)://``), raw bytes
or a PIL image. `read_image` turns any of them into `ImageData`: the encoded bytes, the
URI to store (None for bytes and PIL images, which have no address), the MIME type, the
size and a content hash. Everything else (the CLIP embedder, Cohere, the store, the
loaders) goes through here, so an image means the same thing everywhere.

Image records are chunks whose metadata says ``modality: "image"``; text records carry
no `modality` key, so ``where={"modality": "image"}`` picks images and
``where={"modality": {"$ne": "image"}}`` picks text (Chroma's ``$ne`` matches records
without the key). Pillow is imported on first use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from chromabridge.errors import InputError, LoaderError

if TYPE_CHECKING:
    from PIL.Image import Image

    from chromabridge.types import Chunk

__all__ = [
    "IMAGE_SUFFIXES",
    "MODALITY_KEY",
    "ImageData",
    "ImageSource",
    "data_uri",
    "image_chunk",
    "image_metadata",
    "is_image_record",
    "open_image",
    "read_image",
]

#: The metadata key (and value "image") that marks an image record.
MODALITY_KEY = "modality"
IMAGE = "image"
#: Suffixes `DirectoryLoader(images=True)` and the CLI treat as images.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
#: Bounds a remote image read, so a hostile URL cannot exhaust memory.
MAX_REMOTE_BYTES = 50 * 1024 * 1024

#: A path, a URI string, encoded bytes, or a PIL image.
ImageSource = Union[str, "os.PathLike[str]", bytes, "Image"]


@dataclass(frozen=True)
class ImageData:
    """One decoded-and-checked image: its bytes, where it lives and what it is."""

    data: bytes
    uri: str | None
    mime_type: str
    width: int
    height: int
    image: Image

    @property
    def content_hash(self) -> str:
        """sha256 of the encoded bytes: a changed file is a changed image."""
        return hashlib.sha256(self.data).hexdigest()


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow ships with the extra
        raise InputError("images need Pillow: pip install 'chromabridge[multimodal]'") from exc
    return Image


def _decode_data_uri(uri: str) -> bytes:
    header, _, payload = uri.partition(",")
    if not header.endswith(";base64"):
        return urllib.parse.unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"image data URI is not valid base64: {uri[:40]}...") from exc


def _fetch(uri: str) -> bytes:
    request = urllib.request.Request(uri, headers={"User-Agent": "chromabridge"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            data: bytes = response.read(MAX_REMOTE_BYTES + 1)
    except OSError as exc:
        raise LoaderError(f"cannot fetch image {uri}: {exc}") from exc
    if len(data) > MAX_REMOTE_BYTES:
        raise LoaderError(f"image {uri} is over {MAX_REMOTE_BYTES} bytes; not read")
    return data


def _bytes_of(source: str | os.PathLike[str]) -> bytes:
    text = os.fspath(source)
    lowered = text[:8].lower()
    if lowered.startswith("data:"):
        return _decode_data_uri(text)
    if lowered.startswith(("http://", "https://")):
        return _fetch(text)
    path = Path(urllib.request.url2pathname(text[7:])) if lowered.startswith("file://") else None
    path = path or Path(text)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"cannot read image {text}: {exc.strerror or exc}") from exc


def read_image(source: ImageSource) -> ImageData:
    """Read, decode and describe one image; `LoaderError` for an unreadable or broken one.

    Decoding happens here, fully (`Image.load`), so a truncated file fails now, naming
    its source, not later inside a model's preprocessing.
    """
    pil = _pil()
    uri: str | None = None
    if isinstance(source, pil.Image):
        buffer = io.BytesIO()
        image_format = source.format or "PNG"
        source.save(buffer, format=image_format)
        data = buffer.getvalue()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        uri = os.fspath(source)
        data = _bytes_of(source)
        if uri.lower().startswith("data:"):
            uri = None  # the bytes are the image; there is no address to keep
    else:
        raise InputError(
            f"an image must be a path, a URI, bytes or a PIL image, got {type(source).__name__}"
        )
    name = uri[:80] if uri else f"<{len(data)} bytes>"
    try:
        image = pil.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError...
        raise LoaderError(f"{name} is not a readable image: {exc}") from exc
    mime = pil.MIME.get(image.format or "", "application/octet-stream")
    return ImageData(data, uri, mime, int(image.width), int(image.height), image)


def open_image(source: ImageSource) -> Image:
    """`source` as an RGB PIL image, what image models take."""
    pil = _pil()
    image: Image = source if isinstance(source, pil.Image) else read_image(source).image
    return image if image.mode == "RGB" else image.convert("RGB")


def data_uri(image: ImageData) -> str:
    """The image as a base64 ``data:`` URI (what Cohere's API and browsers take)."""
    return f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def image_metadata(image: ImageData) -> dict[str, Any]:
    """The keys every image record carries (besides `source`, the URI, when there is one)."""
    return {
        MODALITY_KEY: IMAGE,
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "content_hash": image.content_hash,
    }


def is_image_record(metadata: Mapping[str, Any] | None) -> bool:
    """Whether a record's metadata marks it as an image."""
    return metadata is not None and metadata.get(MODALITY_KEY) == IMAGE


def image_chunk(
    image: ImageData,
    *,
    id: str | None = None,
    doc_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    store_bytes: bool = False,
) -> Chunk:
    """The record of one image: a chunk whose text is its URI (or, without one or with
    `store_bytes`, a base64 ``data:`` URI) and whose metadata describes it.

    The default id follows the URI when there is one (a changed file replaces its
    record) and the content otherwise (the same bytes are stored once).
    """
    from chromabridge.types import Chunk, chunk_id

    digest = image.content_hash
    if id is None and doc_id is not None:  # a loaded document: ids as chunkers make them
        id = chunk_id(doc_id, 0, digest)
    elif id is None:
        basis = image.uri if image.uri is not None else digest
        id = "image:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    meta: dict[str, Any] = dict(metadata or {})
    if image.uri is not None:
        meta["source"] = image.uri
    meta.update(image_metadata(image))
    text = data_uri(image) if store_bytes or image.uri is None else image.uri
    return Chunk(id=id, doc_id=doc_id or id, text=text, metadata=meta)
