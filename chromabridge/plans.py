"""Plans: each operation written once, for the blocking and the async API alike.

A plan is a generator that yields *steps*, ``(name, argument)``, and receives each
step's result, or its exception thrown in at the ``yield`` (so a plan can undo, retry
smaller or record a failure). The plan holds the logic; whoever drives it does the I/O.
`drive` performs each step with a blocking function, `adrive` with an async one. This is
the one meaning of "plan" in the code base:

* `ChromaStore` operations (`vectorstores/base.py`): the steps are Chroma calls, plus
  the embedder calls and the hand-offs a write needs;
* `Pipeline` runs (`chromabridge/pipeline.py`): loading, chunking, embedding and store
  calls;
* `HybridRetriever.retrieve`: the two searches and the reads of the fused hits.

`adrive` and `drive` are the same loop, once with awaits and once without (see `drive`
for why it is not `adrive` run without an event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

__all__ = ["FINISH", "Plan", "Step", "adrive", "drive"]

T = TypeVar("T")
#: One step of a plan: (name, argument); what the name means is up to its driver.
Step = tuple[str, Any]
Plan = Generator[Step, Any, T]

#: A marker step, ``(FINISH, None)``: from here on, the async driver completes the plan
#: even if its caller is cancelled (the caller stops waiting, the write or its rollback
#: goes on). The blocking driver just goes on.
FINISH = "plans.finish"


async def adrive(
    plan: Plan[T], step: Callable[[str, Any], Awaitable[Any]], *, shield: bool = True
) -> T:
    """Run `plan`, each step through `step`. An exception from a step is thrown into the
    plan: one the plan does not handle ends the run with it."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            name, argument = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return cast(T, stop.value)
        value, error = None, None
        if name == FINISH:
            if shield:  # the rest of the plan, in a task a cancelled caller leaves be
                return await asyncio.shield(adrive(plan, step))
            continue
        try:
            value = await step(name, argument)
        except Exception as exc:
            error = exc


def drive(plan: Plan[T], step: Callable[[str, Any], Any]) -> T:
    """Run `plan` with blocking steps: `adrive`'s loop, less the awaits.

    Written out rather than run as `adrive` on a coroutine that never suspends: on a
    query's hot path the coroutine, the awaitable per step and their frames cost about
    50 us a call right after a Chroma search has left the caches cold
    (`benchmarks/vectorstores.py`), about 1% of a query.
    """
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            name, argument = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return cast(T, stop.value)
        value, error = None, None
        if name == FINISH:
            continue
        try:
            value = step(name, argument)
        except Exception as exc:
            error = exc
