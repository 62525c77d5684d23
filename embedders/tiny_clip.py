"""A tiny, randomly initialised CLIP saved to a folder: `ClipEmbedder` without a download.

Tests, the example and the benchmark need a CLIP checkpoint on machines with no hub
access. This one has two-layer towers, a 32-pixel input and a byte-level vocabulary;
its vectors mean nothing semantically, but they are deterministic (fixed seed) and an
image is always nearest to itself, which is what plumbing tests need. The folder has
exactly the files a real checkpoint has, so it loads through the real
`from_pretrained` path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["save_tiny_clip"]


def _byte_vocab() -> tuple[dict[str, int], list[str]]:
    """CLIP's byte-level alphabet, each symbol also as a word end, and no merges."""
    # GPT-2's printable stand-ins for the 256 byte values, as CLIP's tokenizer uses them.
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    extra = iter(range(256, 512))
    symbols = [chr(b if b in printable else next(extra)) for b in range(256)]
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({f"{s}</w>": len(symbols) + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, []


def save_tiny_clip(
    path: str | os.PathLike[str], *, projection_dim: int = 32, image_size: int = 32, seed: int = 0
) -> Path:
    """Write a tiny random CLIP (model, tokenizer, image processor) to `path`; return it."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.models.clip import CLIPImageProcessorPil

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = _byte_vocab()
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges), encoding="utf-8")
    tokenizer = CLIPTokenizer(
        vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=77
    )
    tokenizer.save_pretrained(folder)
    small = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={
            **small,
            "num_hidden_layers": 2,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"],
        },
        vision_config={**small, "num_hidden_layers": 2, "image_size": image_size, "patch_size": 8},
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(folder)
    return folder
