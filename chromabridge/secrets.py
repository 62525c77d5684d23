"""Keep API keys out of messages, logs and exception chains.

Provider SDKs put whatever the server said into their exception text, and servers do
echo keys back ("Incorrect API key provided: sk-..."). Everything we show a user passes
through `redact` first, and exceptions we chain are replaced by a redacted stand-in
when their text would leak a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["RedactedError", "redact", "scrub_exception"]

MASK = "***"
# Defence in depth for secrets we were not told about: bearer tokens and sk- style keys.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
)


class RedactedError(Exception):
    """Stands in for a third-party exception whose text contained a secret."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every known secret (and anything key-shaped) masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def scrub_exception(exc: BaseException, secrets: Iterable[str] = ()) -> BaseException:
    """`exc` itself when its whole chain is clean, else a `RedactedError` carrying its text.

    The original keeps useful detail (status, response) for debugging, so it is kept
    whenever it is safe to show.
    """
    secrets = tuple(secrets)
    leaky = False
    for item in _chain(exc):
        text = f"{item!s} {item!r}"
        if redact(text, secrets) != text:
            leaky = True
            break
    if not leaky:
        return exc
    return RedactedError(
        f"{type(exc).__module__}.{type(exc).__qualname__}: {redact(str(exc), secrets)}"
    )
