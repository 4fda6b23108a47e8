"""Real clusters for the tests: a ``dask scheduler`` and ``dask worker`` subprocesses on
127.0.0.1, started and stopped by the tests themselves, and what the system leaves behind
(child processes, threads, listening ports), read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int | None = None) -> set[int]:
    """Every live descendant of ``pid`` (default: this process), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    root, found = pid or os.getpid(), set()
    frontier = {root}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def listening_ports(pid: int | None = None) -> set[int]:
    """TCP ports this process listens on (inodes of its sockets in /proc/net/tcp)."""
    pid = pid or os.getpid()
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.is_alive()}


def wait_for(predicate, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


class Cluster:
    """A scheduler and workers, each a subprocess of its own."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def _spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.tmp / log).open("wb")
        return subprocess.Popen([str(BIN / "dask"), *args], stdout=out, stderr=out,
                                cwd=self.tmp, start_new_session=True)  # fmt: skip

    def start(self, workers: int = 2, resources: str | None = None, nthreads: int = 1) -> Cluster:
        self.scheduler = self._spawn(
            "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--no-dashboard", log="scheduler.log",
        )  # fmt: skip
        for index in range(workers):
            extra = ["--resources", resources] if resources else []
            self.workers.append(self._spawn(
                "worker", self.address, "--nworkers", "1", "--nthreads", str(nthreads),
                "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{index}",
                *extra, log=f"worker{index}.log",
            ))  # fmt: skip
        assert wait_for(lambda: self.count() == workers, 60), self.logs()
        return self

    def count(self) -> int:
        from distributed import Client

        try:
            with Client(self.address, timeout=2) as client:
                return len(client.scheduler_info()["workers"])
        except OSError:
            return 0

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            if proc is None:
                continue
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
