"""Reading (and, for bubblewrap, making) cgroup v1 groups: peak memory, CPU, pids hits.

Docker keeps its containers under <controller>/docker/<id>; bubblewrap runs go under
<controller>/skillforge/<run id>. Where a file is missing (cgroup v2, a remote engine)
the reading is None: these are facts for the report, never the enforcement itself.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


class Sample:
    """The latest readings of a group, kept after the group itself is gone."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.peak_memory: int | None = None
        self.cpu_seconds: float | None = None
        self.oom_kills = 0
        self.pids_hits = 0

    def update(self) -> None:
        g = self.group
        peak, cpu = g.peak_memory(), g.cpu_seconds()
        if peak is not None:
            self.peak_memory = max(peak, self.peak_memory or 0)
        if cpu is not None:
            self.cpu_seconds = cpu
        self.oom_kills = max(self.oom_kills, g.oom_kills())
        self.pids_hits = max(self.pids_hits, g.pids_max_hits())


class Group:
    def __init__(self, relative: str) -> None:
        self.relative = relative

    def path(self, controller: str) -> Path:
        return ROOT / controller / self.relative

    def peak_memory(self) -> int | None:
        return _read_int(self.path("memory") / "memory.max_usage_in_bytes")

    def oom_kills(self) -> int:
        try:
            lines = (self.path("memory") / "memory.oom_control").read_text().splitlines()
        except OSError:
            return 0
        counts = dict(line.split() for line in lines if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0))

    def cpu_seconds(self) -> float | None:
        ns = _read_int(self.path("cpuacct") / "cpuacct.usage")
        return None if ns is None else ns / 1e9

    def pids_max_hits(self) -> int:
        return _read_int(self.path("pids") / "pids.events") or 0

    # -- made by us (bubblewrap) ------------------------------------------------
    def create(self, *, memory_bytes: int, pids: int) -> bool:
        """Make the group with limits. False where cgroup v1 is not writable here."""
        try:
            for controller in ("memory", "pids", "cpuacct"):
                self.path(controller).mkdir(parents=True, exist_ok=True)
            (self.path("memory") / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = self.path("memory") / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(memory_bytes))
            (self.path("pids") / "pids.max").write_text(str(pids))
            return True
        except OSError:
            self.remove()
            return False

    def add(self, pid: int) -> None:
        for controller in ("memory", "pids", "cpuacct"):
            (self.path(controller) / "cgroup.procs").write_text(str(pid))

    def kill_all(self) -> None:
        import signal

        try:
            pids = (self.path("pids") / "cgroup.procs").read_text().split()
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    def remove(self) -> None:
        """rmdir each controller's group; a group whose last task is still exiting is
        busy for a moment, so retry briefly rather than leak it."""
        import time

        for controller in ("memory", "pids", "cpuacct"):
            path = self.path(controller)
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
