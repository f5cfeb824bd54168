"""Waking whoever waits on a submission: the API's `?wait=` and the live page.

The worker announces each change of an attempt (claimed, finished) on a Redis channel per
submission, after the change is committed. A waiting request subscribes first, then reads
the row, then sleeps on the channel until the status moves or its time is up, so a grade
reaches the learner within milliseconds of its commit instead of at the next poll.

The row is read again every RECHECK seconds whatever arrives, so a lost message (Redis
restarted, an outcome stored by the reconciler, which does not announce) costs at most
that; without Redis (the embedded defaults of `./sf up`) the row is simply read every
FALLBACK_POLL seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.db import transaction

log = logging.getLogger("skillforge.live")
T = TypeVar("T")

RECHECK = 1.0
FALLBACK_POLL = 0.25
MAX_WAIT = 25.0  # below gunicorn's 60 s timeout and common proxies' idle limits

# A waiting request holds a web thread (idle, blocked on a socket). At most this many wait
# at once in a process (SKILLFORGE_LIVE_WAITERS, below gunicorn's --threads so pages keep
# being served); past it a request answers at once and its client polls instead.
_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _waiter_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, settings.SKILLFORGE_LIVE_WAITERS))
        return _slots


def channel(submission_id: UUID | str) -> str:
    return f"sf:submission:{submission_id}"


def _redis() -> Any:
    return _client(settings.REDIS_URL)


@cache
def _client(url: str) -> Any:
    import redis

    # No socket_timeout: a subscriber blocks in get_message(timeout=...) on its own terms.
    return redis.Redis.from_url(url, socket_connect_timeout=2)


def announce(submission_id: UUID | str) -> None:
    """Tell waiters the submission's attempt changed; after the surrounding commit, if any.
    Best effort: a waiter that misses it reads the row again within RECHECK seconds."""
    if not settings.REDIS_URL:
        return

    def publish() -> None:
        try:
            _redis().publish(channel(submission_id), b"1")
        except Exception as exc:  # never fail a grade over a wake-up call
            log.warning("could not announce submission %s: %s", submission_id, exc)

    transaction.on_commit(publish)


def wait_until(submission_id: UUID | str, read: Callable[[], T], done: Callable[[T], bool],
               timeout: float) -> tuple[T, bool]:
    """Block until done(read()) or timeout seconds (at most MAX_WAIT). Returns the last read()
    and whether we could wait at all (False: too many waiters here; the caller should
    tell its client to poll)."""
    slots = _waiter_slots()
    if settings.SKILLFORGE_LIVE_WAITERS <= 0 or not slots.acquire(blocking=False):
        return read(), False
    try:
        return _wait(submission_id, read, done, timeout), True
    finally:
        slots.release()


def _wait(submission_id: UUID | str, read: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    deadline = time.monotonic() + min(timeout, MAX_WAIT)
    pubsub = _subscribe(submission_id)
    try:
        current = read()  # after subscribing: a change committed from here on wakes us
        while not done(current):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if pubsub is None:
                time.sleep(min(FALLBACK_POLL, remaining))
            else:
                try:
                    pubsub.get_message(ignore_subscribe_messages=True, timeout=min(RECHECK, remaining))
                except Exception as exc:  # Redis went away mid-wait: keep waiting by reading the row
                    log.warning("live wait on %s: %s", submission_id, exc)
                    pubsub = None
            current = read()
        return current
    finally:
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                pass


def _subscribe(submission_id: UUID | str) -> Any:
    if not settings.REDIS_URL:
        return None
    try:
        pubsub = _redis().pubsub()
        pubsub.subscribe(channel(submission_id))
        return pubsub
    except Exception as exc:
        log.warning("live wait on %s without Redis (%s): reading the row every %s s", submission_id, exc,
                    FALLBACK_POLL)
        return None
