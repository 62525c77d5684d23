"""Retry a remote call with exponential backoff and jitter, within a time budget.

Provider-agnostic: the caller says how to read an exception (`classify`) and which
error to raise when the budget runs out, so embedders and rerankers share one policy.
SDK-level retries should be switched off by callers, or attempts multiply.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from chromabridge import telemetry
from chromabridge.errors import ChromaBridgeError, ConfigError
from chromabridge.secrets import redact, scrub_exception

__all__ = ["Failure", "RetryPolicy", "acall_with_retry", "call_with_retry", "parse_retry_after"]

T = TypeVar("T")
log = logging.getLogger("chromabridge.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry.

    Delays grow `base_delay * 2**n` up to `max_delay`, each shortened by a random share
    of up to `jitter` so that many clients do not retry in lockstep. A server's
    Retry-After is honoured as a floor; if it asks for more than `max_retry_after` or
    more than the remaining `max_elapsed` budget, we stop instead of sleeping.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.5
    max_elapsed: float = 120.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_elapsed < 0:
            raise ConfigError("RetryPolicy delays must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ConfigError("RetryPolicy.jitter must be between 0 and 1")

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `retry` (1-based), jitter applied."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        share: float = (rng or random).random() * self.jitter
        return float(delay * (1.0 - share))


@dataclass(frozen=True)
class Failure:
    """What a failed attempt means. `reason` is shown to users: keep it secret-free."""

    retryable: bool
    reason: str
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


Classify = Callable[[BaseException], Failure | None]
MakeError = Callable[[str], ChromaBridgeError]


class _Budget:
    """Counts attempts and decides whether (and how long) to wait before the next."""

    def __init__(
        self,
        what: str,
        policy: RetryPolicy,
        make_error: MakeError,
        secrets: Iterable[str],
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        self.what = what
        self.policy = policy
        self.make_error = make_error
        self.secrets = tuple(secrets)
        self.clock = clock
        self.rng = rng
        self.start = clock()
        self.attempt = 0

    def next_delay(self, exc: BaseException, failure: Failure) -> float | ChromaBridgeError:
        """The delay before the next attempt, or the final error to raise.

        The error is raised by the caller outside its `except` block, so the original
        exception is reachable only as the (scrubbed) `__cause__`, never as `__context__`.
        """
        policy = self.policy
        where = f"{self.what}: {failure.reason}"
        if failure.detail:
            where += f" ({redact(failure.detail, self.secrets)[:300]})"
        plural = "s" if self.attempt != 1 else ""
        if not failure.retryable:
            return self._error(f"{where}; not retried ({self.attempt} attempt{plural})", exc)
        if self.attempt >= policy.max_attempts:
            return self._error(f"{where}; gave up after {self.attempt} attempt{plural}", exc)
        delay = policy.backoff(self.attempt, self.rng)
        if failure.retry_after is not None:
            if failure.retry_after > policy.max_retry_after:
                return self._error(
                    f"{where}; server asked to retry after {failure.retry_after:.1f}s, more than "
                    f"max_retry_after={policy.max_retry_after:.1f}s; gave up after "
                    f"{self.attempt} attempt{plural}",
                    exc,
                )
            delay = max(delay, failure.retry_after)
        elapsed = self.clock() - self.start
        if elapsed + delay > policy.max_elapsed:
            return self._error(
                f"{where}; gave up after {self.attempt} attempt{plural} and {elapsed:.1f}s "
                f"(retry budget max_elapsed={policy.max_elapsed:.1f}s)",
                exc,
            )
        log.warning(
            "%s; retry %d of %d in %.2fs",
            where,
            self.attempt,
            policy.max_attempts - 1,
            delay,
        )
        return delay

    def _error(self, message: str, exc: BaseException) -> ChromaBridgeError:
        error = self.make_error(message)
        error.__cause__ = scrub_exception(exc, self.secrets)
        error.__suppress_context__ = True
        return error


def call_with_retry(
    fn: Callable[[], T],
    *,
    classify: Classify,
    what: str,
    make_error: MakeError,
    policy: RetryPolicy | None = None,
    secrets: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Call `fn` until it succeeds, `classify` calls a failure final, or the budget ends.

    Exceptions `classify` does not recognise (it returns None) propagate unchanged:
    they are bugs or our own validation errors, not transient provider trouble.
    """
    budget = _Budget(what, policy or RetryPolicy(), make_error, secrets, clock, rng)
    while True:
        budget.attempt += 1
        try:
            return fn()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            outcome = budget.next_delay(exc, failure)
        if isinstance(outcome, ChromaBridgeError):
            raise outcome
        telemetry.retry_event(what, failure.reason, budget.attempt, outcome)
        sleep(outcome)


async def acall_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    classify: Classify,
    what: str,
    make_error: MakeError,
    policy: RetryPolicy | None = None,
    secrets: Iterable[str] = (),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Async twin of `call_with_retry`; waits with `asyncio.sleep`."""
    budget = _Budget(what, policy or RetryPolicy(), make_error, secrets, clock, rng)
    while True:
        budget.attempt += 1
        try:
            return await fn()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            outcome = budget.next_delay(exc, failure)
        if isinstance(outcome, ChromaBridgeError):
            raise outcome
        telemetry.retry_event(what, failure.reason, budget.attempt, outcome)
        await sleep(outcome)
