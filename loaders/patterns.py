"""Glob patterns over paths relative to a loaded root, the way users write them.

`*` and `?` stay inside one path segment, `**` spans any number of directories, and a
pattern without a `/` matches a file name at any depth (``"*.pdf"`` finds every PDF),
as in `.gitignore`. Patterns are matched against relative paths only and never used to
build paths, so none can point outside the root.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GlobSet"]


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


class GlobSet:
    """A compiled set of patterns; `matches(rel)` is true when any pattern matches."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        full = [p.strip("/") for p in self.patterns if "/" in p.strip("/")]
        names = [p for p in self.patterns if "/" not in p.strip("/")]
        self._full = re.compile("|".join(f"(?:{_translate(p)})" for p in full)) if full else None
        self._name = (
            re.compile("|".join(f"(?:{_translate(p.strip('/'))})" for p in names))
            if names
            else None
        )

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, rel: str) -> bool:
        """`rel` is a POSIX path relative to the root, without a leading slash."""
        if self._full is not None and self._full.fullmatch(rel):
            return True
        name = rel.rsplit("/", 1)[-1]
        return self._name is not None and self._name.fullmatch(name) is not None
