"""One retry loop with back-off, for the three things a shared store makes a writer wait for:
another local writer's lock, another writer's conflicting lake commit, and another process that
inserted the same unique registry row first."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class GiveUp(Exception):
    """Raised by :func:`retrying` when the attempts or the time run out; ``last`` is the
    exception of the last attempt and ``attempts`` how many were made."""

    def __init__(self, last: BaseException, attempts: int, waited: float) -> None:
        super().__init__(str(last))
        self.last = last
        self.attempts = attempts
        self.waited = waited


def retrying(
    work: Callable[[], T],
    *,
    when: Callable[[BaseException], bool],
    attempts: int | None = None,
    seconds: float | None = None,
    delay: float = 0.05,
    cap: float = 5.0,
    jitter: bool = True,
) -> T:
    """Run ``work`` until it returns, retrying after exceptions for which ``when`` is true.

    Args:
        when: which exceptions mean "try again later"; any other is raised at once.
        attempts: at most this many tries (None: no limit but ``seconds``).
        seconds: stop retrying once this much time has passed (None: no limit but ``attempts``).
        delay: the first wait; each later one doubles, up to ``cap``.
        jitter: wait between 1 and 2 times the delay, so that processes retrying together
            spread out.

    Raises:
        GiveUp: the attempts or the time ran out (with the last exception).
    """
    start = time.monotonic()
    tried = 0
    while True:
        tried += 1
        try:
            return work()
        except BaseException as exc:
            if not when(exc):
                raise
            waited = time.monotonic() - start
            if (attempts is not None and tried >= attempts) or (
                seconds is not None and waited >= seconds
            ):
                raise GiveUp(exc, tried, waited) from exc
        pause = delay * (1 + random.random()) if jitter else delay
        if seconds is not None:
            pause = min(pause, max(0.0, seconds - (time.monotonic() - start)))
        time.sleep(pause)
        delay = min(delay * 2, cap)
