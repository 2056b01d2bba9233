"""How many cores other processes leave free right now, so llama.cpp uses only those.

Why: llama.cpp splits every matmul across its threads and joins them at a barrier after each op,
hundreds of times per decode. When another process keeps a core busy, the thread that shares that core
gets a scheduler slice only every few milliseconds and every barrier waits for it: a call that takes
200 ms on a quiet 2-core machine took 750 ms to seconds beside one busy process. One thread on the core
that *is* free has no barrier to wait at and runs at full speed. The watcher runs beside a training job
and the MCP server beside an agent, so this is the normal case, not a corner.

:class:`ThreadAdvisor` measures the CPU time the *other* processes used since it last looked (all CPU
time in ``/proc/stat`` minus this process's own in ``/proc/self/stat``, both in clock ticks), so our
own spinning OpenMP workers never count as load. Until a first interval exists, the instantaneous count
of runnable tasks in ``/proc/loadavg`` (minus our own running threads) stands in. Where ``/proc`` is
missing (not Linux) it always answers the configured maximum.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

MIN_INTERVAL_S = 0.05  # shorter intervals are dominated by the 10 ms tick granularity
STALE_AFTER_S = 2.0  # an estimate older than this is refreshed from the instantaneous count


def available_cpus() -> int:
    """CPUs this process may run on (affinity, then the cgroup quota), at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    return None


def _system_busy_ticks() -> int | None:
    """Non-idle ticks of all CPUs since boot (user, nice, system, irq, softirq, steal)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values + [0] * (8 - len(values))
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int | None:
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _runnable_others() -> float | None:
    """Runnable tasks system-wide right now minus this process's own running threads."""
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    own = 0
    try:
        for task in os.scandir("/proc/self/task"):
            try:
                stat = Path(task.path, "stat").read_text()
            except OSError:
                continue
            if stat[stat.rindex(")") + 2 :].startswith("R"):
                own += 1
    except OSError:
        own = 1
    return float(max(0, running - max(own, 1)))


class ThreadAdvisor:
    """Chooses llama.cpp's thread count per call: the configured maximum, minus cores others keep busy."""

    def __init__(self, max_threads: int, *, cpus: int | None = None) -> None:
        self.max_threads = max(1, max_threads)
        self.cpus = cpus or available_cpus()
        self._lock = threading.Lock()
        self._last: tuple[float, int, int] | None = None
        self._estimate: float | None = None  # cores' worth of CPU other processes used lately
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def others_busy(self) -> float:
        """Cores' worth of CPU used by other processes lately (0.0 when it cannot be known).

        The average since the previous look when that is at least ``MIN_INTERVAL_S`` old (sooner looks
        reuse the last answer); when the previous look is older than ``STALE_AFTER_S`` (an average
        that long would hide a job that just started) or there is none, the instantaneous runnable
        count is taken too, and the larger of the two wins.
        """
        with self._lock:
            now = time.monotonic()
            system, own = _system_busy_ticks(), _own_ticks()
            if system is None or own is None:
                return 0.0
            previous = self._last
            if previous is not None and now - previous[0] < MIN_INTERVAL_S and self._estimate is not None:
                return self._estimate
            estimate = 0.0
            if previous is not None:
                then, system0, own0 = previous
                estimate = max(0, (system - system0) - (own - own0)) / self._hz / max(now - then, 1e-6)
            if previous is None or now - previous[0] > STALE_AFTER_S:
                instant = _runnable_others()
                if instant is not None:
                    estimate = max(estimate, instant)
            self._last = (now, system, own)
            self._estimate = estimate
            return estimate

    def threads(self) -> int:
        """Threads for the next call: never more than the cores left free, never fewer than one."""
        if self.max_threads == 1:
            return 1
        free = self.cpus - math.ceil(self.others_busy() - 0.25)  # a quarter core of noise is not load
        return max(1, min(self.max_threads, free))
