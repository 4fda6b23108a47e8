"""The ``dask`` executor: each call attempt is one Dask future, on a cluster.

hybrid_core stays the orchestrator (workflow, routing, retries, journal live in the
driver); this executor only runs :class:`hybrid_core.Call` objects. The client is a
synchronous ``distributed.Client``, whose event loop runs in a thread of its own, so a
cluster keeps its heartbeats whether or not the system's loop is running; each call is
submitted and awaited on that loop and handed back to the caller's, in batches (see
:mod:`._relay`); the calls one turn of that loop submits go to the scheduler as one
graph (:mod:`._batch`), and the results that arrive together are fetched together
(:mod:`._fetch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Hashable, Mapping
from typing import Any

import attrs
import cloudpickle
from hybrid_core import Call, ExecutorError, WorkerLost

from ._batch import Batcher
from ._fetch import OWN, Fetcher
from ._relay import Relay
from ._settings import DaskSettings

__all__ = ["DaskExecutor"]

_REFRESH = 2.0  # seconds a cached list of workers is trusted for placing calls


def _label(call: Call) -> str:
    fn = call.fn
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    return f"{call.key} ({name})" if call.key else name


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pickles(value: Any) -> bool:
    try:
        cloudpickle.dumps(value)
    except Exception:  # noqa: BLE001 - any failure means it cannot travel
        return False
    return True


def _culprit(call: Call) -> str:
    """Which part of the call cannot be pickled, in words."""
    if not _pickles(call.fn):
        return "its function"
    for index, arg in enumerate(call.args):
        if not _pickles(arg):
            return f"argument {index}, {type(arg).__name__} {_short(arg)},"
    for name, arg in call.kwargs.items():
        if not _pickles(arg):
            return f"argument {name!r}, {type(arg).__name__} {_short(arg)},"
    return "a part of it"


class DaskExecutor:
    """Runs calls on a Dask cluster: a running scheduler by address, or a LocalCluster.

    Build it from ``[executor.dask]`` (``DaskExecutor(read_settings(table))``) or with
    keywords (``DaskExecutor(address="tcp://127.0.0.1:8786")``, ``DaskExecutor(n_workers=2)``);
    the keywords are the fields of :class:`DaskSettings`. Nothing starts when it is built:
    a scheduler given by address is reached in :meth:`astart` (or on first use), a
    LocalCluster starts on the first call. :meth:`aclose` closes what this executor
    started, and only that: a scheduler someone else started keeps running.
    """

    def __init__(
        self, settings: DaskSettings | None = None, *, name: str = "dask", **options: Any
    ) -> None:
        base = settings if settings is not None else DaskSettings()
        self.settings = attrs.evolve(base, **options) if options else base
        self.name = name
        self._client: Any = None
        self._relay: Relay | None = None
        self._fetcher: Fetcher | None = None
        self._batcher: Batcher | None = None
        self._cluster: Any = None
        self._starting = threading.Lock()
        self._closed = False
        self._workers: list[str] = []
        self._workers_at = 0.0
        self._affinity: dict[Hashable, str] = {}
        self._tracker: int | None = -1  # multiprocessing's tracker before our cluster
        self._threads: set[int | None] = set()  # the threads there before our client

    # -- starting -------------------------------------------------------------------------

    async def astart(self) -> None:
        """Reach the configured scheduler now, so that a wrong address stops the start."""
        if self.settings.address is not None:
            await self._aclient()

    async def _aclient(self) -> Any:
        client = self._client
        if client is not None:
            return client
        return await asyncio.get_running_loop().run_in_executor(None, self._connect)

    def _connect(self) -> Any:
        with self._starting:
            if self._closed:
                raise ExecutorError(self.name, "the executor is closed")
            if self._client is not None:
                return self._client
            from distributed import Client

            settings = self.settings
            self._threads = {t.ident for t in threading.enumerate()}
            if settings.address is None:
                self._tracker = _tracker_pid()
                self._cluster = self._local_cluster()
                target: Any = self._cluster
            else:
                target = settings.address
            try:
                client = Client(
                    target, timeout=settings.connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                self._close_cluster()
                where = settings.address or "the LocalCluster"
                raise ExecutorError(
                    self.name,
                    f"no Dask scheduler answers at {where} within "
                    f"{settings.connect_timeout:g} s ({type(exc).__name__}); start one with "
                    "'dask scheduler', or fix [executor.dask] address",
                ) from None
            self._relay = Relay(client.loop.asyncio_loop, self._lost)
            self._fetcher = Fetcher(client)
            self._batcher = Batcher(client)
            self._client = client
            return client

    def _lost(self) -> ExecutorError:
        return ExecutorError(
            self.name, "the Dask client was closed, or its loop stopped, while the call ran"
        )

    def _local_cluster(self) -> Any:
        from distributed import LocalCluster

        s = self.settings
        extra: dict[str, Any] = {}
        if not s.dashboard_address:  # a dashboard would hold a port nobody asked for
            extra["scheduler_kwargs"] = {"dashboard": False}
        if s.processes:  # worker processes talk TCP, on this machine only
            extra.update(host="127.0.0.1", scheduler_port=0)
        try:
            return LocalCluster(
                n_workers=s.n_workers,
                threads_per_worker=s.threads_per_worker,
                processes=s.processes,
                memory_limit=s.memory_limit,
                dashboard_address=s.dashboard_address,
                timeout=s.connect_timeout,
                **extra,
            )
        except Exception as exc:
            raise ExecutorError(
                self.name, f"the LocalCluster did not start: {type(exc).__name__}: {exc}"
            ) from exc

    # -- running calls --------------------------------------------------------------------

    async def asubmit(self, call: Call) -> Any:
        try:
            blob = cloudpickle.dumps((call.fn, call.args, dict(call.kwargs)), protocol=5)
        except Exception as exc:
            raise TypeError(
                f"executor {self.name!r} cannot send call {_label(call)} to the Dask "
                f"workers: {_culprit(call)} cannot be pickled ({type(exc).__name__}: "
                f"{exc}); pass picklable values (paths, data) and build the rest there"
            ) from exc
        client = await self._aclient()
        if client.status != "running":
            raise ExecutorError(
                self.name,
                f"the client is {client.status}: the connection to the scheduler at "
                f"{self._address(client)} was lost; call {_label(call)} was not sent",
            )
        relay = self._relay
        try:
            if relay is None:
                raise RuntimeError("closed")
            job = relay.run(lambda: self._remote(client, call, blob))
        except RuntimeError:
            raise ExecutorError(
                self.name, f"the executor is closed; call {_label(call)} was not sent"
            ) from None
        try:
            return await job.outcome
        except asyncio.CancelledError:
            relay.cancel(job)  # releases the future: the cluster forgets the task
            raise

    async def _remote(self, client: Any, call: Call, blob: bytes) -> Any:
        """On the client's loop: submit one future, await it, release it."""
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        options = await self._placement(client, call)
        fn = getattr(call.fn, "__name__", "call")
        key = f"{fn}-{call.key or 'hook'}-{uuid.uuid4().hex[:12]}"
        batcher = self._batcher
        if batcher is None:
            raise self._lost()
        submitted = batcher.submit(blob, key, options)
        try:
            future = await submitted
        except asyncio.CancelledError:
            if submitted.done() and not submitted.cancelled():
                submitted.result().release()  # sent already: the cluster forgets it
            raise
        try:
            fetcher = self._fetcher
            if fetcher is not None:
                got = await fetcher.result(future)
                if got is not OWN:
                    return got
            return await future  # it did not finish well: its own await raises why
        except KilledWorker as exc:
            self._workers_at = 0.0
            raise WorkerLost(
                self.name,
                f"call {_label(call)} died with its worker ({type(exc).__name__}: {exc})",
                call.key,
            ) from None
        except FutureCancelledError as exc:
            if exc.reason == "scheduler-connection-lost":
                raise ExecutorError(
                    self.name,
                    f"the connection to the scheduler at {self._address(client)} was lost "
                    f"while call {_label(call)} ran",
                ) from None
            raise WorkerLost(
                self.name, f"call {_label(call)} was cancelled on the cluster ({exc})", call.key
            ) from None
        finally:
            future.release()

    async def _placement(self, client: Any, call: Call) -> dict[str, Any]:
        options: dict[str, Any] = {}
        mapping = self.settings.resources
        if mapping and call.resources:
            needs = {mapping[p]: float(n) for p, n in call.resources.items() if p in mapping}
            if needs:
                options["resources"] = needs
        if call.affinity is not None:
            worker = await self._affine(client, call.affinity)
            if worker is not None:
                # A preference, not a rule: when the worker is gone, any other runs it.
                options.update(workers=[worker], allow_other_workers=True)
        return options

    async def _affine(self, client: Any, affinity: Hashable) -> str | None:
        """The worker calls with this affinity go to while it lives (the least used)."""
        if time.monotonic() - self._workers_at > _REFRESH:
            info = await client.scheduler.identity(n_workers=-1)
            self._workers = sorted(info.get("workers", {}))
            self._workers_at = time.monotonic()
        if not self._workers:
            return None
        chosen = self._affinity.get(affinity)
        if chosen in self._workers:
            return chosen
        if len(self._affinity) > 100_000:
            self._affinity.clear()
        load = dict.fromkeys(self._workers, 0)
        for worker in self._affinity.values():
            if worker in load:
                load[worker] += 1
        chosen = min(self._workers, key=load.__getitem__)
        self._affinity[affinity] = chosen
        return chosen

    # -- describing and closing -----------------------------------------------------------

    def _address(self, client: Any) -> str:
        return self.settings.address or str(getattr(client.scheduler, "address", "?"))

    async def describe(self) -> Mapping[str, Any]:
        """The cluster: address, workers, threads, memory and resources.

        A LocalCluster not started yet is described by what it will be (nothing is
        started to describe it); a scheduler given by address is asked.
        """
        s = self.settings
        if self._client is None and s.address is None:
            workers = s.n_workers if s.n_workers is not None else "one per core"
            return {"cluster": "LocalCluster, started on first use", "workers": workers,
                    "threads_per_worker": s.threads_per_worker, "processes": s.processes,
                    "memory_limit": s.memory_limit}  # fmt: skip
        client = await self._aclient()
        info = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                client.scheduler.identity(n_workers=-1), client.loop.asyncio_loop
            )
        )
        workers = info.get("workers", {}).values()
        resources: dict[str, float] = {}
        for worker in workers:
            for name, amount in (worker.get("resources") or {}).items():
                resources[name] = resources.get(name, 0) + amount
        memory = sum(w.get("memory_limit") or 0 for w in workers)
        return {
            "address": info.get("address", self._address(client)),
            "workers": len(workers),
            "threads": sum(w.get("nthreads", 0) for w in workers),
            "memory": f"{memory / 2**30:.1f} GiB",
            "resources": resources,
        }

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def close(self) -> None:
        """Close the client, and the LocalCluster (its processes) if this executor
        started one; a scheduler given by address is left running."""
        with self._starting:
            self._closed = True
            client, self._client = self._client, None
            relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()
        if client is not None:
            with contextlib.suppress(Exception):  # closing goes on with the cluster
                client.close(timeout=self.settings.close_timeout)
        self._close_cluster()
        if client is not None:
            _release_offload_thread()
        self._join_profilers()

    def _join_profilers(self) -> None:
        """Wait for the profiling threads our scheduler started: told to stop when it
        closed, each ends at its next sample (``distributed.profile.watch``, 10-20 ms)."""
        deadline = time.monotonic() + self.settings.close_timeout
        for thread in threading.enumerate():
            if thread.name == "Profile" and thread.ident not in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _close_cluster(self) -> None:
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close(timeout=self.settings.close_timeout)
            if self._tracker is None:
                _stop_tracker()

    def __repr__(self) -> str:
        where = self.settings.address or "LocalCluster"
        return f"<DaskExecutor {self.name!r} {where}>"


def _release_offload_thread() -> None:
    """Let the thread distributed keeps for offloaded work end with the client.

    distributed holds one module-level pool (``Dask-Offload``) whose idle thread would
    outlive the system; it is shut down and replaced by a fresh pool, whose thread only
    starts when something offloads again.
    """
    from concurrent.futures import ThreadPoolExecutor

    from distributed import utils

    old = utils._offload_executor
    utils._offload_executor = ThreadPoolExecutor(1, thread_name_prefix="Dask-Offload")
    old.shutdown(wait=True)


def _tracker_pid() -> int | None:
    from multiprocessing import resource_tracker

    return getattr(resource_tracker._resource_tracker, "_pid", None)


def _stop_tracker() -> None:
    """Stop the resource tracker that starting the cluster's worker processes started.

    multiprocessing starts it with the first spawned process and keeps it for the life
    of the interpreter; started for our workers, it ends with them.
    """
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None and _tracker_pid() is not None:
        stop()
