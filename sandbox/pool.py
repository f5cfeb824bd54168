"""A small pool of fresh, idle sandboxes made ahead of demand.

Each slot is handed out once and destroyed by whoever took it; the pool never sees a
slot again, so it can never hand out a sandbox that ran anything. A background thread
keeps `size` slots ready per key (image, limits, gpus) that has been asked for or
warmed, retries with a growing pause while the engine is down, and drops slots that
died under it (an engine restart) when they are taken. size 0 disables it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
S = TypeVar("S")
K = TypeVar("K", bound=Hashable)


class Pool(Generic[K, S]):
    def __init__(
        self,
        size: int,
        *,
        make: Callable[[K], S],
        alive: Callable[[S], bool],
        destroy: Callable[[S], None],
    ) -> None:
        self.size = size
        self._make, self._alive, self._destroy = make, alive, destroy
        self._ready: dict[K, list[S]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def warm(self, key: K) -> None:
        """Keep `size` slots ready for key from now on."""
        if self.size <= 0:
            return
        with self._lock:
            self._ready.setdefault(key, [])
            if self._thread is None:
                self._thread = threading.Thread(target=self._refill, name="sandbox-pool", daemon=True)
                self._thread.start()
        self._wake.set()

    def take(self, key: K) -> S | None:
        """A ready slot for key, or None (the caller makes one cold)."""
        if self.size <= 0:
            return None
        self.warm(key)
        while True:
            with self._lock:
                slots = self._ready.get(key) or []
                slot = slots.pop(0) if slots else None
            self._wake.set()
            if slot is None:
                return None
            if self._alive(slot):
                return slot
            self._destroy(slot)  # died under us: an engine restart, say

    def ready(self, key: K) -> int:
        with self._lock:
            return len(self._ready.get(key, []))

    def ready_count(self) -> int:
        """Ready slots over every key (the worker's pool-size metric)."""
        with self._lock:
            return sum(len(slots) for slots in self._ready.values())

    def close(self) -> None:
        """Stop refilling and destroy every ready slot."""
        with self._lock:
            self._closed = True
            slots = [s for ss in self._ready.values() for s in ss]
            self._ready.clear()
        self._wake.set()
        for slot in slots:
            self._destroy(slot)

    def _wanted(self) -> list[K]:
        with self._lock:
            return [k for k, v in self._ready.items() if len(v) < self.size]

    def _refill(self) -> None:
        pause = 0.0
        while not self._closed:
            if pause:
                self._wake.wait(pause)
            self._wake.clear()
            wanted = self._wanted()
            if not wanted:
                self._wake.wait()
                continue
            for key in wanted:
                try:
                    slot = self._make(key)
                except Exception as exc:  # engine down or restarting: back off, then retry
                    pause = min(max(pause * 2, 0.5), 10.0)
                    log.warning("sandbox pool could not make a slot (%s); retrying in %.1f s", exc, pause)
                    break
                pause = 0.0
                with self._lock:
                    if self._closed or key not in self._ready:
                        keep = False
                    else:
                        self._ready[key].append(slot)
                        keep = True
                if not keep:
                    self._destroy(slot)
