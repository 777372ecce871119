"""Parsing off the event loop: in worker processes when a poll cycle is big enough, else in a
thread.

Parsing and cleaning a feed is CPU work in Python (lxml, feedparser, text cleaning); done in the
fetching process it would leave the other core idle and stall every fetch behind it. A cycle
with at least `POOL_MIN_FEEDS` due feeds parses in worker processes, one per usable core,
started once at the start of the cycle and stopped at its end; documents of at least
`POOL_MIN_BYTES` go to them. Smaller cycles and smaller documents are parsed in a thread, where
a worker's cost (starting it; for each document, the round trip and back) would outweigh what
it saves.

The workers are forked, before the cycle starts its writer thread and event loop: a fork
starts in milliseconds with the parser already imported, and never re-runs the caller's main
module (as spawned or fork-server workers do, which breaks a script or `python -m` without a
main guard). Where fork does not exist, or a process may not have children (a daemon), parsing
stays in a thread.

Each worker has a pipe of its own and takes one document at a time, so a worker that dies
(the OOM killer, a crash inside a C parser) is seen at once as the end of its pipe, even half
way through a reply. Its document and the rest of the cycle are then parsed in a thread, and
no feed is lost (a document that crashes the parser itself would then take the process down,
as it did before there were workers). `concurrent.futures.ProcessPoolExecutor` was not used
for this: on CPython 3.11, a worker killed while it writes a reply, or a document submitted
while the pool is marking itself broken, leaves a future that never completes and the cycle
waiting forever (seen here in tests and in a stress script).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from .errors import FetchError, ParseFailed, describe
from .parse import read_document
from .records import FetchedFeed, ParsedFeed

log = logging.getLogger(__name__)

# Due feeds from which a cycle starts worker processes: forking them costs ~10-30 ms, once.
POOL_MIN_FEEDS = 24
# Documents from which parsing goes to a worker. A document's round trip through a worker
# costs the fetching process ~0.3-0.5 ms (pickling, pipes, wake-ups); a 3 KB feed parses in
# ~0.5 ms and a 200 KB news feed in ~10-40 ms, so small documents are parsed in a thread (lxml
# parses without the GIL) and only bigger ones are worth the trip (benchmarks/poll_scale.py
# and benchmarks/ingest.py; the README has the figures).
POOL_MIN_BYTES = 16_384
# How long a worker may take to exit once its pipe is closed, before it is killed.
STOP_TIMEOUT = 5.0


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Parser:
    """Parses one cycle's documents; `with` it around the cycle, entered before any thread."""

    def __init__(self, due_feeds: int, *, max_bytes: int, max_items: int) -> None:
        self.workers = usable_cores()
        self.in_processes = (
            self.workers > 1
            and due_feeds >= POOL_MIN_FEEDS
            and "fork" in multiprocessing.get_all_start_methods()
        )
        self.pools_started = 0
        self._limits = {"max_bytes": max_bytes, "max_items": max_items}
        self._started: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker | None] | None = None

    async def parse(self, fetched: FetchedFeed) -> ParsedFeed:
        """`read_document` elsewhere than on the event loop; raises what it raises."""
        if self.in_processes and len(fetched.body or b"") >= POOL_MIN_BYTES:
            if self._idle is None:  # made here, on the cycle's event loop
                self._idle = asyncio.Queue()
                for worker in self._started:
                    self._idle.put_nowait(worker)
            worker = await self._idle.get()
            if worker is None:  # the workers were given up while this document waited
                self._idle.put_nowait(None)  # for the next one waiting
            else:
                reply = await asyncio.to_thread(worker.exchange, fetched)
                if reply is not None:
                    self._idle.put_nowait(worker)
                    if isinstance(reply, FetchError):
                        raise reply
                    return reply
                self._give_up()
        return await asyncio.to_thread(read_document, fetched, **self._limits)

    def _give_up(self) -> None:
        """After a worker died: the rest of the cycle parses in a thread. A fresh worker is
        not forked, as this process now runs threads that a fork would copy mid-step."""
        if self.in_processes:
            log.warning("a parse worker died; parsing the rest of this cycle in a thread")
            self.in_processes = False
            if self._idle is not None:
                self._idle.put_nowait(None)  # wakes a document waiting for a worker

    def __enter__(self) -> Parser:
        if self.in_processes:
            try:
                for _ in range(self.workers):
                    self._started.append(_Worker.fork(self._limits, self._started))
            except (OSError, AssertionError) as error:  # e.g. a daemon may have no children
                log.warning("parsing in a thread, not in worker processes: %s", describe(error))
                self.in_processes = False
                self._stop_workers()
            else:
                self.pools_started = 1
        return self

    def __exit__(self, *_: object) -> None:
        self._stop_workers()

    def _stop_workers(self) -> None:
        for worker in self._started:
            worker.stop()
        self._started = []


class _Worker:
    """One forked parser process and this process's end of its pipe."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    @classmethod
    def fork(cls, limits: dict[str, int], earlier: list[_Worker]) -> _Worker:
        """A worker, forked with this process's ends of its own and the `earlier` workers'
        pipes, which it closes: a pipe must end when its worker does, or when we close it."""
        ours, theirs = multiprocessing.Pipe()
        not_its_own = [ours, *(worker.connection for worker in earlier)]
        process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(theirs, limits, not_its_own), name="newswatch-parser", daemon=True
        )
        try:
            process.start()
        finally:
            # Only the worker holds its end now, so its death ends the pipe for us.
            theirs.close()
        return cls(process, ours)

    def exchange(self, fetched: FetchedFeed) -> ParsedFeed | FetchError | None:
        """The worker's reply for one document (run in a thread); None if it died first."""
        try:
            self.connection.send(fetched)
            ready = wait([self.connection, self.process.sentinel])
            if self.connection in ready:  # a reply, or the end of the pipe
                return self.connection.recv()
        except (EOFError, OSError):  # the pipe ended, possibly half way through a reply
            pass
        return None

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # it may have died
            self.connection.send(None)  # the worker exits on this, or on the end of its pipe
        self.connection.close()
        self.process.join(STOP_TIMEOUT)
        if self.process.is_alive():
            log.warning("a parse worker did not stop within %.0f s; killed", STOP_TIMEOUT)
            self.process.kill()
            self.process.join()
        self.process.close()


def _serve(connection: Connection, limits: dict[str, int], not_its_own: list[Connection]) -> None:
    """A worker's life: read a document, send back what `read_document` made of it or the
    failure it raised, until it is told to stop or the pipe ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for inherited in not_its_own:
        inherited.close()
    while True:
        try:
            fetched = connection.recv()
        except EOFError:
            return
        if fetched is None:
            return
        try:
            reply: ParsedFeed | FetchError = read_document(fetched, **limits)
        except FetchError as error:
            reply = error
        try:
            connection.send(reply)
        except Exception as error:  # a reply that does not pickle; pickling precedes sending
            connection.send(ParseFailed(f"could not return the parsed document: {describe(error)}"))
