"""``pawflow run PIPELINE --batch in.jsonl --out out.jsonl --engine ray``: batch rows on a Ray cluster.

Why an actor pool and not Ray Data: a pawflow worker is expensive to start (a base model in memory,
adapters and prefix states warmed up) and cheap to reuse, so each worker is a long-lived Ray actor that
holds one interpreter and the pipeline's programs, exactly like the local process does. Rows travel to
it in chunks; inside a chunk the pipeline engine groups model calls per program per level, so a worker
swaps adapters once per program per chunk instead of on nearly every row. Ray Data's streaming
executor would add an Arrow round-trip per batch and, on a two-core machine, processes of its own,
for nothing a fixed pool of actors does not already give.

Guarantees (the same as the local engine, because writing stays in ``pawflow.pipeline.batch``):

* **order**: chunks finish in any order on any worker; records are buffered and handed back in input
  order, so the output file reads exactly as a local run's;
* **no lost row**: a worker that dies (OOM kill, node loss, SIGKILL) is restarted by Ray
  (``max_restarts=-1``) and every chunk it held is queued again, first in line;
* **never twice**: only the driver writes, each row index is accepted once, and a chunk is only ever
  taken from a successful return value, never half;
* **poison rows**: a chunk that kills its worker ``max_retries + 1`` times is split into single rows,
  and a single row that does the same is recorded as an error (``failed_step: "(worker)"``) instead
  of stalling the run; ``--retry-failed`` reruns it later.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pawflow.errors import ConfigError, PipelineError

WORKER_STEP = "(worker)"


@dataclass
class _Chunk:
    """Row positions (into the pending list) computed together, and how often a worker died on them."""

    indices: list[int]
    attempts: int = 0
    memory_kills: int = 0
    causes: list[str] = field(default_factory=list)


@dataclass
class RayRunStats:
    """What one ``compute`` did; the benchmark and the tests read it."""

    workers: int = 0
    chunks: int = 0
    worker_deaths: int = 0
    memory_kills: int = 0  # workers Ray's memory monitor killed while they held a chunk (not charged to it)
    retried_chunks: int = 0
    split_chunks: int = 0
    poisoned_rows: int = 0
    swaps: int = 0
    calls: int = 0
    worker_pids: list[int] = field(default_factory=list)


class DeathLedger:
    """Which chunk a dead worker was running, so only that one is charged for the death.

    An actor runs its tasks one at a time in submission order, so when it dies the oldest task still
    in flight on it was running and the rest only queued behind it. The failures of those tasks reach
    the driver one by one, in any order, possibly after the restarted actor has been given new work —
    so the decision is taken once, on the *first* failure seen from a worker: its oldest in-flight ref
    becomes the culprit and every other ref it held an innocent bystander, and both leave the worker's
    list, which from then on holds only what the restarted actor was given. (Deciding per failure, by
    whatever is oldest *now*, charged a bystander once the culprit had been taken off the list: a
    healthy row next to a poison row could be recorded as poison.) Plain bookkeeping with no Ray in
    it, so it is tested without a cluster.
    """

    def __init__(self, workers: int) -> None:
        self._in_flight: list[deque[Any]] = [deque() for _ in range(workers)]  # submission (= execution) order
        self._culprits: set[Any] = set()
        self._bystanders: set[Any] = set()

    def submitted(self, worker: int, ref: Any) -> None:
        self._in_flight[worker].append(ref)

    def succeeded(self, worker: int, ref: Any) -> None:
        if ref in self._in_flight[worker]:
            self._in_flight[worker].remove(ref)
        self._culprits.discard(ref)
        self._bystanders.discard(ref)

    def failed(self, worker: int, ref: Any) -> tuple[bool, bool]:
        """``(charged, first)``: whether this chunk killed the worker, and whether this is the first news
        of that death (the moment to ask whether the worker is back)."""
        if ref in self._culprits:
            self._culprits.discard(ref)
            return True, False
        if ref in self._bystanders:
            self._bystanders.discard(ref)
            return False, False
        held = self._in_flight[worker]
        running = held[0] if held else ref
        for other in held:
            if other != ref:
                (self._culprits if other == running else self._bystanders).add(other)
        held.clear()
        return ref == running, True


class PipelineWorker:
    """One Ray actor: a process with one interpreter, running chunks of rows through the pipeline.

    It is a plain class so this module imports without Ray; :class:`RayEngine` wraps it with
    ``ray.remote`` when it starts the pool.
    """

    def __init__(self, yaml_text: str, path: str | None, cwd: str, sys_paths: list[str], env: dict[str, str],
                 cache_dir: str | None, trace: bool) -> None:
        os.environ.update(env)  # before anything reads settings: threads, base, program path
        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)  # programs by name resolve against ./programs/build, like on the driver
        for entry in reversed(sys_paths):
            if entry and os.path.isdir(entry) and entry not in sys.path:
                sys.path.insert(0, entry)
        from pawflow.pipeline.cache import ResultCache
        from pawflow.pipeline.core import Pipeline

        self.pipeline = Pipeline.from_yaml_text(yaml_text, path=path)
        cache = ResultCache(cache_dir) if cache_dir else None
        self.engine = self.pipeline.engine(cache=cache)  # validates here: a broken worker fails at start
        self.trace = trace

    def ready(self) -> int:
        return os.getpid()

    def warm(self) -> int:
        """Load the base model now (a benchmark times rows, not the model load)."""
        from pawflow.interpreter import Interpreter

        Interpreter.shared()
        return os.getpid()

    def run_chunk(self, rows: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        from pawflow.pipeline.batch import row_record

        results = self.engine.run_rows([inputs for _, inputs in rows])
        return [row_record(row_id, row, trace=self.trace) for (row_id, _), row in zip(rows, results)]

    def stats(self) -> dict[str, Any]:
        from pawflow import interpreter

        shared = interpreter._SHARED  # only what this process already loaded; never load a model for stats
        counters = shared.stats.model_dump() if shared is not None else {}
        # CPU seconds this process used (all threads): on a shared machine, rows per CPU-second is the
        # figure that does not depend on how much of the machine other jobs took.
        return {"pid": os.getpid(), "cpu_s": time.process_time(), **counters}


class RayEngine:
    """Batch engine ``ray``: a pool of :class:`PipelineWorker` actors on a local or remote Ray cluster.

    ``address``: ``None`` starts a private local Ray instance (stopped again in :meth:`close`); a
    ``host:port`` or ``"auto"`` joins a running cluster. ``workers`` defaults to the cluster's CPUs
    divided by ``threads_per_worker`` (``--threads`` / ``PAWFLOW_THREADS``, default 1): llama.cpp's
    threads spin-wait, so workers that share cores must not each ask for all of them.
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        threads_per_worker: int | None = None,
        max_retries: int = 2,
        prefetch: int = 2,
        object_store_mb: int = 256,
        start_timeout_s: float = 300.0,
        max_memory_retries: int = 20,
    ) -> None:
        from pawflow.cli.registry import require

        require("scale", "ray", command="run --engine ray")
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        if threads_per_worker is None:
            threads_per_worker = int(os.environ.get("PAWFLOW_THREADS") or 1)
        if threads_per_worker < 1:
            raise ConfigError(f"threads per worker must be at least 1, got {threads_per_worker}")
        self.address = address
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.max_retries = max(0, max_retries)
        self.prefetch = max(1, prefetch)
        self.object_store_mb = object_store_mb
        self.start_timeout_s = start_timeout_s
        self.max_memory_retries = max_memory_retries
        self.stats = RayRunStats()
        self._started_ray = False
        self._pool: list[Any] = []
        self._pool_key: tuple[Any, ...] | None = None

    # ------------------------------------------------------------------ cluster and pool

    def _ray(self) -> Any:
        import ray

        if ray.is_initialized():
            return ray
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                cpus = (self.workers or max(1, (os.cpu_count() or 1) // self.threads_per_worker)) * self.threads_per_worker
                ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                         object_store_memory=self.object_store_mb << 20, _node_ip_address="127.0.0.1")
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise ConfigError(f"could not connect to {where}: {exc}",
                              hint="start one with `ray start --head --port 6379` and pass --address 127.0.0.1:6379") from exc
        self._started_ray = True
        return ray

    def _worker_count(self, ray: Any) -> int:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        if self.workers is None:
            return max(1, cpus // self.threads_per_worker)
        if self.workers * self.threads_per_worker > cpus:  # the extra actors would wait for CPUs forever
            raise ConfigError(f"{self.workers} workers x {self.threads_per_worker} threads need "
                              f"{self.workers * self.threads_per_worker} CPUs; the Ray cluster has {cpus}",
                              hint="lower --workers or --threads, or add nodes to the cluster")
        return self.workers

    def _environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key.startswith("PAWFLOW_")}
        env["PAWFLOW_THREADS"] = str(self.threads_per_worker)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return env

    def start(self, pipeline: Any, *, cache: Any = None, trace: bool = False, warm: bool = False) -> list[int]:
        """Start (or reuse) the worker pool for ``pipeline``; returns the workers' process ids.

        Workers are kept between :meth:`compute` calls for the same pipeline, so a second batch (or a
        benchmark's timed run after its warm-up) does not pay for model loads again.
        """
        from pawflow.pipeline.cache import ResultCache

        ray = self._ray()
        cache_dir: str | None = None
        if isinstance(cache, ResultCache):
            cache_dir = str(cache.root.resolve())
        elif cache:
            cache_dir = str(ResultCache().root.resolve())
        path = str(Path(pipeline.path).resolve()) if getattr(pipeline, "path", None) else None
        yaml_text = pipeline.to_yaml()
        key = (yaml_text, path, cache_dir, trace)
        if self._pool and self._pool_key == key:
            pids = ray.get([worker.ready.remote() for worker in self._pool])
        else:
            self._stop_pool()
            count = self._worker_count(ray)
            actor = ray.remote(PipelineWorker).options(
                num_cpus=self.threads_per_worker, max_restarts=-1, max_task_retries=0, max_concurrency=1,
            )
            cwd = os.getcwd()
            sys_paths = [cwd] + ([str(Path(path).parent)] if path else [])
            self._pool = [actor.remote(yaml_text, path, cwd, sys_paths, self._environment(), cache_dir, trace)
                          for _ in range(count)]
            self._pool_key = key
            try:
                pids = ray.get([worker.ready.remote() for worker in self._pool], timeout=self.start_timeout_s)
            except ray.exceptions.GetTimeoutError:
                self._stop_pool()
                raise ConfigError(f"the Ray workers did not start within {self.start_timeout_s:g} s",
                                  hint="the cluster may be busy with other jobs (ray status shows what holds its CPUs)") from None
            except Exception as exc:  # the actor's constructor failed: the pipeline does not load there
                self._stop_pool()
                raise PipelineError(f"a Ray worker could not load pipeline {pipeline.name!r}: {_cause(exc)}",
                                    hint="every node needs the pipeline's programs and Python modules at the same paths "
                                    "(a shared filesystem, or the same checkout on each node)") from None
        if warm:
            pids = ray.get([worker.warm.remote() for worker in self._pool])
        self.stats.workers = len(self._pool)
        self.stats.worker_pids = list(pids)
        return list(pids)

    def _stop_pool(self) -> None:
        if not self._pool:
            return
        import ray

        for worker in self._pool:
            try:
                ray.kill(worker)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._pool, self._pool_key = [], None

    def worker_stats(self) -> list[dict[str, Any]]:
        """Per-worker interpreter counters (a restarted worker starts from zero)."""
        import ray

        return ray.get([worker.stats.remote() for worker in self._pool]) if self._pool else []

    def close(self) -> None:
        self._stop_pool()
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False

    # ------------------------------------------------------------------ the run

    def compute(self, pipeline: Any, rows: list[tuple[str, dict[str, Any]]], *, chunk: int, cache: Any,
                trace: bool) -> Iterator[tuple[str, dict[str, Any]]]:
        if not rows:
            return
        self.start(pipeline, cache=cache, trace=trace)
        import ray
        from ray.exceptions import ActorDiedError, OutOfMemoryError, RayActorError, RayTaskError, WorkerCrashedError

        self.stats = RayRunStats(workers=len(self._pool), worker_pids=list(self.stats.worker_pids))
        size = max(1, chunk)
        queue = deque(_Chunk(list(range(start, min(start + size, len(rows))))) for start in range(0, len(rows), size))
        self.stats.chunks = len(queue)
        in_flight: dict[Any, tuple[_Chunk, int]] = {}
        ledger = DeathLedger(len(self._pool))
        probes: dict[Any, int] = {}  # ready() calls on workers Ray is restarting; no work goes to them meanwhile
        probing: set[int] = set()
        gone: set[int] = set()  # workers Ray gave up on
        load = [0] * len(self._pool)
        finished: dict[int, dict[str, Any]] = {}
        next_out = 0
        swaps_before = self._swaps()

        def probe(worker: int) -> None:
            if worker not in probing and worker not in gone:
                probing.add(worker)
                probes[self._pool[worker].ready.remote()] = worker

        while next_out < len(rows):
            while queue:
                free = [i for i in range(len(self._pool)) if load[i] < self.prefetch and i not in probing and i not in gone]
                if not free:
                    break
                worker = min(free, key=load.__getitem__)
                job = queue.popleft()
                ref = self._pool[worker].run_chunk.remote([rows[i] for i in job.indices])
                in_flight[ref] = (job, worker)
                ledger.submitted(worker, ref)
                load[worker] += 1
            if len(gone) == len(self._pool):
                raise PipelineError("every Ray worker is gone (Ray stopped restarting them); rows written so far are kept",
                                    hint="check the cluster (ray status) and rerun: the run resumes where it stopped")
            if not in_flight and not probes:
                raise PipelineError("the Ray engine has rows left but nothing running (this is a bug)")
            ready, _ = ray.wait([*in_flight, *probes], num_returns=1)
            for ref in ready:
                if ref in probes:
                    worker = probes.pop(ref)
                    try:
                        self.stats.worker_pids[worker] = ray.get(ref)
                        probing.discard(worker)
                    except ActorDiedError:
                        probing.discard(worker)
                        gone.add(worker)
                    except RayActorError:  # still restarting: ask again shortly
                        time.sleep(0.2)
                        probing.discard(worker)
                        probe(worker)
                    continue
                job, worker = in_flight.pop(ref)
                load[worker] -= 1
                try:
                    records = ray.get(ref)
                except (RayActorError, WorkerCrashedError, OutOfMemoryError) as exc:
                    was_running, first_news = ledger.failed(worker, ref)  # see DeathLedger
                    if _memory_kill(exc) and job.memory_kills < self.max_memory_retries:
                        # Ray's memory monitor killed the worker because the *node* ran short of memory
                        # (other jobs count too): not this chunk's fault, so it is not charged for it.
                        job.memory_kills += 1
                        self.stats.memory_kills += 1
                        queue.appendleft(job)
                    elif was_running:
                        self.stats.worker_deaths += 1
                        self._requeue(queue, job, exc, rows, finished)
                    else:
                        queue.appendleft(job)  # innocent bystander: retried without counting against it
                    if first_news:
                        probe(worker)
                    continue
                except RayTaskError as exc:  # an exception inside run_chunk: not a row failure, a broken worker
                    raise PipelineError(f"a Ray worker failed running pipeline {pipeline.name!r}: {_cause(exc)}") from None
                ledger.succeeded(worker, ref)
                for index, record in zip(job.indices, records):
                    finished.setdefault(index, record)  # never twice, whatever a retry returned
            while next_out in finished:
                yield rows[next_out][0], finished.pop(next_out)
                next_out += 1
        self.stats.swaps = max(0, self._swaps() - swaps_before)

    def _requeue(self, queue: deque[_Chunk], job: _Chunk, exc: BaseException, rows: list[tuple[str, dict[str, Any]]],
                 finished: dict[int, dict[str, Any]]) -> None:
        """A worker died holding ``job``: retry it first in line, split it, or give its one row up."""
        job.attempts += 1
        job.causes.append(_cause(exc))
        if job.attempts <= self.max_retries:
            self.stats.retried_chunks += 1
            queue.appendleft(job)
            return
        if len(job.indices) > 1:  # isolate the row that kills workers; the others then go through
            self.stats.split_chunks += 1
            queue.extendleft(_Chunk([index]) for index in reversed(job.indices))
            return
        index = job.indices[0]
        self.stats.poisoned_rows += 1
        finished.setdefault(index, {
            "id": rows[index][0],
            "error": f"the Ray worker running this row died {job.attempts} times (last: {job.causes[-1][:300]})",
            "failed_step": WORKER_STEP,
        })

    def _swaps(self) -> int:
        try:
            return sum(int(stat.get("swaps", 0)) for stat in self.worker_stats())
        except Exception:  # noqa: BLE001 - a worker that is restarting has no counters to give
            return 0


def _memory_kill(exc: BaseException) -> bool:
    """Did Ray's memory monitor kill the worker (node memory pressure), rather than the work itself?"""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc).lower()
    return any(marker in text for marker in ("memory pressure", "out of memory", "out_of_memory", "outofmemory", "low on memory"))


def _cause(exc: BaseException) -> str:
    """The first meaningful line of a Ray error (they carry whole remote tracebacks)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and str(cause):
        return f"{type(cause).__name__}: {cause}".strip()
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()[:500]
    return (lines[-1] if lines else type(exc).__name__)[:500]

