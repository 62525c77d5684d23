"""chromabridge.retry and chromabridge.secrets: the policy, on a fake clock."""

from __future__ import annotations

import email.utils
import random
import time
import traceback

import pytest

from chromabridge.errors import ConfigError, EmbeddingError
from chromabridge.retry import (
    Failure,
    RetryPolicy,
    acall_with_retry,
    call_with_retry,
    parse_retry_after,
)
from chromabridge.secrets import RedactedError, redact, scrub_exception


class Transient(Exception):
    def __init__(self, retry_after: float | None = None, text: str = "transient") -> None:
        super().__init__(text)
        self.retry_after = retry_after


class Fatal(Exception):
    pass


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, Transient):
        return Failure(True, "HTTP 429", status=429, retry_after=exc.retry_after, detail=str(exc))
    if isinstance(exc, Fatal):
        return Failure(False, "HTTP 401", status=401, detail=str(exc))
    return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def flaky(failures: list[BaseException], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def run(fn, policy: RetryPolicy, clock: Clock, secrets: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return call_with_retry(
        fn,
        classify=classify,
        what="test: call",
        make_error=EmbeddingError,
        policy=policy,
        secrets=secrets,
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(0),
    )


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=5, jitter=0.5)
    rng = random.Random(1)
    for retry, full in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        for _ in range(50):
            assert full * 0.5 <= policy.backoff(retry, rng) <= full
    assert RetryPolicy(base_delay=1, jitter=0).backoff(3) == 4


def test_transient_failures_are_retried_until_success() -> None:
    clock = Clock()
    fn = flaky([Transient(), Transient()])
    assert run(fn, RetryPolicy(base_delay=1, jitter=0), clock) == "ok"
    assert clock.sleeps == [1, 2]


def test_retry_after_is_a_floor() -> None:
    clock = Clock()
    run(flaky([Transient(retry_after=7.5)]), RetryPolicy(base_delay=1), clock)
    assert clock.sleeps == [7.5]


def test_retry_after_beyond_the_cap_stops_at_once() -> None:
    clock = Clock()
    with pytest.raises(EmbeddingError, match=r"retry after 600\.0s"):
        run(flaky([Transient(retry_after=600)]), RetryPolicy(max_retry_after=60), clock)
    assert clock.sleeps == []


def test_attempts_and_elapsed_time_are_bounded() -> None:
    clock = Clock()
    with pytest.raises(EmbeddingError, match=r"test: call: HTTP 429.*gave up after 3 attempts"):
        run(flaky([Transient()] * 5), RetryPolicy(max_attempts=3, base_delay=0.1), clock)
    clock = Clock()
    with pytest.raises(EmbeddingError, match=r"max_elapsed=10\.0s"):
        run(
            flaky([Transient()] * 50),
            RetryPolicy(max_attempts=50, base_delay=1, jitter=0, max_elapsed=10),
            clock,
        )
    assert sum(clock.sleeps) <= 10


def test_final_failures_and_unknown_errors() -> None:
    clock = Clock()
    fn = flaky([Fatal("nope")])
    with pytest.raises(
        EmbeddingError, match="HTTP 401 \\(nope\\); not retried \\(1 attempt\\)"
    ) as info:
        run(fn, RetryPolicy(), clock)
    assert isinstance(info.value.__cause__, Fatal)
    assert len(fn.calls) == 1  # type: ignore[attr-defined]
    with pytest.raises(KeyError):  # not a provider failure: a bug, propagated untouched
        run(flaky([KeyError("x")]), RetryPolicy(), clock)


def test_secrets_never_reach_the_message_or_the_chain() -> None:
    key = "sk-live-abcdefghijklmnop"
    clock = Clock()
    with pytest.raises(EmbeddingError) as info:
        run(flaky([Fatal(f"bad key {key}")]), RetryPolicy(), clock, secrets=(key,))
    err = info.value
    assert "bad key ***" in str(err)
    assert isinstance(err.__cause__, RedactedError)
    assert err.__context__ is None or key not in str(err.__context__)
    assert key not in "".join(traceback.format_exception(err))


def test_redact_masks_key_shapes_it_was_not_told_about() -> None:
    assert redact("Authorization: Bearer abcdefghijk123") == "Authorization: Bearer ***"
    assert redact("key sk-proj-ABCDEFGH12345 rejected") == "key *** rejected"
    assert redact("token xyz-secret", ["xyz-secret"]) == "token ***"
    clean = ValueError("nothing to hide")
    assert scrub_exception(clean, ["secret-value"]) is clean


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after({"Retry-After": date}) or 0) <= 31


def test_policy_validation() -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError):
        RetryPolicy(jitter=2)


async def test_async_twin_retries() -> None:
    clock = Clock()
    failures: list[BaseException] = [Transient(), Transient()]

    async def fn() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    result = await acall_with_retry(
        fn,
        classify=classify,
        what="async",
        make_error=EmbeddingError,
        policy=RetryPolicy(base_delay=1, jitter=0),
        sleep=sleep,
        clock=clock,
    )
    assert result == "done" and clock.sleeps == [1, 2]
