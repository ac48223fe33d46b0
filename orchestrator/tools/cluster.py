"""Several Polku server processes on one database behind a round-robin proxy on loopback, for tests and benchmarks.

    python -m orchestrator.tools.cluster --processes 3 --port 5000

starts ``flask --app orchestrator serve`` on ports 5001-5003 (each with its own threads and timer scheduler), waits
until each answers ``/readyz``, and passes each connection to port 5000 on to the next backend that is alive and
accepts it. Ctrl-C or SIGTERM stops them all. The processes take their settings from the environment as ``flask
serve`` does: point ``POLKU_DATABASE_URL`` at PostgreSQL and give them one ``POLKU_SECRET_KEY``.

The proxy balances connections, not requests (a keep-alive client stays with one process), and knows no health
checks. It listens on loopback only: passing bytes on, it hides each client's address, so the processes would take
anyone for a caller on this host (as ``/prometheus`` trusts one). In production a real load balancer (nginx, HAProxy)
stands in front, taking a process out of rotation while its ``/readyz`` fails. Tests and benchmarks import the
pieces: ``cluster(n, env)``, ``Backend``, ``RoundRobin``.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

LOOPBACK = "127.0.0.1"
BUFFER = 64 * 1024


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on now (another may take it before the caller does: fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Backend:
    """One ``flask --app orchestrator serve`` process; its output goes to ``<logs>/<name>.log``, else to ours."""

    def __init__(self, name: str, port: int, env: Mapping[str, str] | None = None, logs: Path | None = None,
                 threads: int = 8, host: str = LOOPBACK):
        self.name, self.host, self.port = name, host, port
        self.log_path = logs / f"{name}.log" if logs is not None else None
        # PostgreSQL shows this as pg_stat_activity.application_name for the process's connections.
        env = {**os.environ, **(env or {}), "PGAPPNAME": name}
        command = [sys.executable, "-m", "flask", "--app", "orchestrator", "serve", "--host", host,
                   "--port", str(port), "--threads", str(threads)]
        with open(self.log_path, "ab") if self.log_path else contextlib.nullcontext() as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self, timeout: float = 2.0) -> bool:
        """One look at ``/readyz``: its database answers, its schema is this code's, its scheduler runs."""
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=timeout) as answer:
                return answer.status == 200
        except OSError:  # refused, timed out, or an HTTPError (503): a URLError is an OSError
            return False

    def wait_ready(self, deadline: float) -> None:
        """Until ``/readyz`` answers 200; fails at ``deadline`` (``time.monotonic()``) or when the process exits."""
        while not self.ready(timeout=1.0):
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}{self._tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready in time{self._tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        if self.alive():
            self.process.kill()
        self.process.wait()

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""

    def _tail(self) -> str:
        return f":\n{self.log()[-3000:]}" if self.log_path else ""


class RoundRobin:
    """A TCP proxy: each connection goes to the next backend that is alive and accepts it (asyncio streams).

    ``serve()`` runs it in the caller's event loop; ``start()`` in a thread of its own, until ``stop()``.
    """

    def __init__(self, addresses: Sequence[tuple[str, int]], alive: Callable[[int], bool] | None = None,
                 host: str = LOOPBACK, port: int = 0):
        self.addresses, self.host, self.port = list(addresses), host, port
        self._alive = alive or (lambda index: True)
        self._next = 0
        self.connections = [0] * len(self.addresses)  # connections passed on, per backend
        self.refused = [0] * len(self.addresses)  # connects that failed, per backend
        self._routes: dict[int, int] = {}  # the client's port → the backend its connection went to
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def backend_of(self, client_port: int) -> int | None:
        """Which backend the connection from this local port of the client went to."""
        return self._routes.get(client_port)

    async def serve(self) -> None:
        """Accept until ``stop()``; then drop the connections still open."""
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._listening.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    def start(self, timeout: float = 10.0) -> "RoundRobin":
        failed: list[OSError] = []

        def run() -> None:
            try:
                asyncio.run(self.serve())
            except OSError as exc:  # the port is taken
                failed.append(exc)
                self._listening.set()

        self._thread = threading.Thread(target=run, name="polku-round-robin", daemon=True)
        self._thread.start()
        if not self._listening.wait(timeout) or failed:
            raise RuntimeError(f"the proxy cannot listen on {self.host}:{self.port}: {failed[0] if failed else ''}")
        return self

    def stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # its loop has just ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next backend in turn that is alive and accepts a connection; None when none does."""
        count, first = len(self.addresses), self._next
        for turn in range(count):
            index = (first + turn) % count
            if not self._alive(index):
                continue
            try:
                reader, writer = await asyncio.open_connection(*self.addresses[index])
            except OSError:
                self.refused[index] += 1
                continue
            self._next = (index + 1) % count
            return index, reader, writer
        return None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        backend_writer = None
        try:
            found = await self._connect()
            if found is None:
                return  # closed at once: the client sees the refusal it would see from a dead server
            index, backend_reader, backend_writer = found
            self.connections[index] += 1
            self._routes[client_writer.get_extra_info("peername")[1]] = index
            await asyncio.gather(_pipe(client_reader, backend_writer, client_writer),
                                 _pipe(backend_reader, client_writer, backend_writer))
        except asyncio.CancelledError:
            pass  # the proxy stops: the connection ends here (a cancelled task would be logged as failed)
        finally:
            self._tasks.discard(asyncio.current_task())
            for writer in filter(None, (client_writer, backend_writer)):
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, source_writer: asyncio.StreamWriter) -> None:
    """Copy one direction until its end, then half-close; a reset on either side resets both, as without a proxy."""
    try:
        while data := await source.read(BUFFER):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof() and not sink.is_closing():
            sink.write_eof()
    except OSError:
        sink.transport.abort()
        source_writer.transport.abort()


class Cluster(NamedTuple):
    url: str  # the proxy's
    backends: list[Backend]
    proxy: RoundRobin


@contextlib.contextmanager
def cluster(n: int, env: Mapping[str, str] | None = None, *, port: int = 0, first_port: int = 0, threads: int = 8,
            logs: Path | None = None, timeout: float = 60.0) -> Iterator[Cluster]:
    """``n`` server processes, each ready, behind a round-robin proxy on loopback ``port``; all stopped at the end.

    ``env`` is added to this process's environment for them; backends listen on ``first_port`` and the ports after
    it (free ports when 0); ``logs`` is the folder of their output files (else they write to ours).
    """
    backends, proxy = [], None
    try:
        for index in range(n):
            backends.append(Backend(f"polku-{index + 1}", first_port + index if first_port else free_port(),
                                    env, logs, threads))
        deadline = time.monotonic() + timeout
        for backend in backends:
            backend.wait_ready(deadline)
        proxy = RoundRobin([(b.host, b.port) for b in backends], lambda i: backends[i].alive(), port=port).start()
        yield Cluster(proxy.url, backends, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        for backend in backends:
            if backend.alive():
                backend.process.terminate()
        for backend in backends:
            backend.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.tools.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=3, help="server processes (default 3)")
    parser.add_argument("--port", type=int, default=5000, help="the proxy's port (default 5000)")
    parser.add_argument("--first-port", type=int, help="the first process's port (default: the proxy's + 1)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process (default 8)")
    parser.add_argument("--logs", type=Path, help="a folder for each process's log (default: this terminal)")
    args = parser.parse_args(argv)

    def stopped(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell starts a background job ignoring it
        signal.signal(signum, stopped)
    try:
        with cluster(args.processes, port=args.port, first_port=args.first_port or args.port + 1,
                     threads=args.threads, logs=args.logs) as running:
            ports = ", ".join(str(b.port) for b in running.backends)
            print(f"Polku on {running.url}/ (round robin over processes on ports {ports}); Ctrl-C stops them all",
                  flush=True)
            reported = set()
            while True:
                time.sleep(0.5)
                for backend in running.backends:
                    if not backend.alive() and backend.name not in reported:
                        reported.add(backend.name)
                        print(f"{backend.name} (port {backend.port}) exited with {backend.process.returncode}",
                              file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
