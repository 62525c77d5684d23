"""CLIP: texts and images in one vector space, on this machine, with transformers.

A text question finds a photo, and a photo finds similar photos and the text that
describes them, because CLIP's two towers are trained to meet in one space. Built on
transformers' `CLIPModel`, `CLIPTokenizer` and the PIL/numpy `CLIPImageProcessorPil`:
nothing here imports torchvision, whose PyPI build does not load beside the CPU torch
that set-up installs (the default `CLIPImageProcessor` would want it).

Text: CLIP reads at most 77 tokens (`max_input_tokens`); longer texts are truncated,
with one warning per embedder (or `EmbeddingError` with `strict=True`), as
`LocalEmbedder` does. Images: any `ImageSource` (path, URI, bytes, PIL image).
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.images import ImageSource, open_image

from .base import Vector
from .local import pick_device
from .native import NativeEmbedder

__all__ = ["DEFAULT_CLIP_MODEL", "ClipEmbedder"]

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
log = logging.getLogger(__name__)


def _short_name(model: str) -> str:
    path = Path(model)
    return path.resolve().name if path.exists() else model


def _load_error(model: str, exc: Exception) -> ConfigError:
    """A load failure, with where to put the weights when the hub could not be asked."""
    offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    local = Path(model).exists()
    hint = ""
    if not local:
        cache = os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface")
        hint = (
            f"; {'the hub is switched off (HF_HUB_OFFLINE)' if offline else 'it is not cached'}"
            f": download it where there is network (`hf download {model}`) and copy it into "
            f"{cache}/hub, or save it with `CLIPModel.from_pretrained(...).save_pretrained(DIR)`"
            " (plus its tokenizer and image processor) and pass model=DIR"
        )
    return ConfigError(f"could not load CLIP model {model!r}: {exc}{hint}")


class ClipEmbedder(NativeEmbedder):
    """A CLIP model embedding texts (`embed_documents`, `embed_query`) and images
    (`embed_images`, `embed_image`) into one space.

    `model`: a Hugging Face name (from the local cache when offline) or a folder holding
    a saved CLIP model, tokenizer and image processor. `device`: None picks cuda, mps or
    cpu. Vectors are L2-normalised, so cosine and inner product rank alike.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_CLIP_MODEL,
        *,
        device: str | None = None,
        batch_size: int = 32,
        strict: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError("ClipEmbedder batch_size must be at least 1")
        try:
            import torch
            from transformers import CLIPModel, CLIPTokenizer
            from transformers.models.clip import CLIPImageProcessorPil
        except ImportError as exc:
            raise ConfigError(
                "ClipEmbedder needs transformers, torch and Pillow: "
                "pip install 'chromabridge[multimodal]'"
            ) from exc
        source = os.fspath(model)
        self.device = device or pick_device()
        try:
            # transformers' `from_pretrained` wrappers are typed loosely: Any, on purpose.
            self.model: Any = cast(Any, CLIPModel).from_pretrained(source)
            self.model.to(self.device).eval()
            self.tokenizer: Any = cast(Any, CLIPTokenizer).from_pretrained(source)
            self.processor: Any = cast(Any, CLIPImageProcessorPil).from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise _load_error(source, exc) from exc
        self._torch = torch
        self.batch_size = batch_size
        self.strict = strict
        self._warned = False
        self._name = f"clip:{_short_name(source)}"
        self._dimension = int(self.model.config.projection_dim)
        self._max_tokens = int(self.model.config.text_config.max_position_embeddings)

    @property
    def max_input_tokens(self) -> int:
        """CLIP's context: 77 tokens for the released models, start and end included."""
        return self._max_tokens

    @property
    def max_text_tokens(self) -> int:
        """The most `count_tokens` a text may have and still be embedded whole."""
        return self._max_tokens - 2

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without the start and end tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # -- the two towers -------------------------------------------------------------------

    def _features(self, output: Any) -> list[Vector]:
        torch = self._torch
        tensor = output if isinstance(output, torch.Tensor) else output.pooler_output
        tensor = torch.nn.functional.normalize(tensor.float(), dim=-1)
        vectors: list[Vector] = tensor.cpu().tolist()
        return vectors

    def _check_length(self, texts: Sequence[str]) -> None:
        limit = self.max_text_tokens
        for i, text in enumerate(texts):
            n = self.count_tokens(text)
            if n <= limit:
                continue
            if self.strict:
                raise EmbeddingError(
                    f"{self.name}: text {i} has {n} tokens, more than CLIP's {limit}; "
                    "split it smaller (count_tokens) or pass strict=False to truncate"
                )
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"{self.name}: text {i} has {n} tokens, more than CLIP's {limit}; only "
                    "its first tokens are embedded (warned once per embedder)",
                    stacklevel=4,
                )

    def _embed_texts(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        self._check_length(texts)
        out: list[Vector] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                encoded = self.tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self._max_tokens,
                    return_tensors="pt",
                ).to(self.device)
                with self._torch.inference_mode():
                    out.extend(self._features(self.model.get_text_features(**encoded)))
            except Exception as exc:
                raise EmbeddingError(f"{self.name} failed to embed a batch: {exc}") from exc
        return out

    def embed_documents(self, texts: Sequence[str]) -> list[Vector]:
        return self._embed_texts(texts)

    def embed_query(self, text: str) -> Vector:
        return self._embed_texts([text])[0]

    def embed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        """One vector per image, in the text vectors' space.

        Each image is read and decoded first (`LoaderError` naming a broken one), then
        run through the image tower `batch_size` at a time.
        """
        pictures = [open_image(image) for image in images]
        out: list[Vector] = []
        for start in range(0, len(pictures), self.batch_size):
            batch = pictures[start : start + self.batch_size]
            try:
                pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"]
                with self._torch.inference_mode():
                    features = self.model.get_image_features(pixel_values=pixels.to(self.device))
                out.extend(self._features(features))
            except Exception as exc:
                raise EmbeddingError(f"{self.name} failed to embed an image batch: {exc}") from exc
        return out

    def embed_image(self, image: ImageSource) -> Vector:
        """The vector of one image."""
        return self.embed_images([image])[0]

    async def aembed_images(self, images: Sequence[ImageSource]) -> list[Vector]:
        """Async `embed_images` (a worker thread: the model runs on this machine)."""
        return await asyncio.to_thread(self.embed_images, images)
