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

Each worker has a pipe of its own (with `IN_FLIGHT` documents sent ahead of its replies), so
a worker that dies (the OOM killer, a crash inside a C parser) is seen at once as the end of
its pipe, even half way through a reply. Its documents and the rest of the cycle are then
parsed in a thread, and no feed is lost (a document that crashes the parser itself would then
take the process down, as it did before there were workers).
`concurrent.futures.ProcessPoolExecutor` was not used for this: on CPython 3.11, a worker
killed while it writes a reply, or a document submitted while the pool is marking itself
broken, leaves a future that never completes and the cycle waiting forever (seen here in
tests and in a stress script).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
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
# Documents sent to a worker ahead of its replies, so that it never waits for its next one.
IN_FLIGHT = 2

Reply = ParsedFeed | FetchError


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
                for worker in self._started * IN_FLIGHT:
                    self._idle.put_nowait(worker)
            worker = await self._idle.get()
            if worker is None:  # the workers were given up while this document waited
                self._idle.put_nowait(None)  # for the next one waiting
            else:
                try:
                    reply = await worker.parse(fetched)
                except BaseException:  # cancelled, or a document that does not pickle
                    self._idle.put_nowait(worker)
                    raise
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
    """One forked parser process, this process's end of its pipe, and a thread that reads the
    worker's replies and hands each to the document waiting for it."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection
        self._sending = threading.Lock()  # one message at a time on the pipe
        self._lock = threading.Lock()  # guards what follows, shared with the reading thread
        self._waiting: dict[int, Callable[[Reply | None], None]] = {}
        self._sent = 0
        self._ended = False
        self._reader: threading.Thread | None = None

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

    async def parse(self, fetched: FetchedFeed) -> Reply | None:
        """The worker's reply for one document; None if the worker died before giving it."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Reply | None] = loop.create_future()

        def deliver(reply: Reply | None) -> None:  # called from the reading thread
            with contextlib.suppress(RuntimeError):  # the loop closed: the cycle was aborted
                loop.call_soon_threadsafe(_settle, answered, reply)

        with self._lock:
            if self._ended:
                return None
            number, self._sent = self._sent, self._sent + 1
            self._waiting[number] = deliver
        if self._reader is None:  # started on first use, long after the fork
            self._reader = threading.Thread(
                target=self._read_replies, name="newswatch-parser-replies", daemon=True
            )
            self._reader.start()
        # A document is sent while the worker may still parse the one before it, so that it
        # never waits for its next one; the send blocks only while the pipe is full.
        with contextlib.suppress(OSError):  # it died: the reading thread answers None
            await asyncio.to_thread(self._send, (number, fetched))
        return await answered

    def _send(self, message: tuple[int, FetchedFeed] | None) -> None:
        with self._sending:
            self.connection.send(message)

    def _read_replies(self) -> None:
        """Hands each reply to its document; when the pipe ends, or anything else goes wrong
        here, the worker is given up and every document still waiting gets None."""
        try:
            while True:
                ready = wait([self.connection, self.process.sentinel])
                if self.connection not in ready:  # it died without a word
                    break
                number, reply = self.connection.recv()
                with self._lock:
                    deliver = self._waiting.pop(number)
                deliver(reply)
        except (EOFError, OSError):  # the pipe ended, possibly half way through a reply
            pass
        except Exception as error:  # a reply that does not unpickle, say: no worse than a death
            log.warning("a parse worker's reply could not be read: %s", describe(error))
            self.process.kill()
        finally:
            with self._lock:
                self._ended = True
                unanswered, self._waiting = list(self._waiting.values()), {}
            for deliver in unanswered:
                deliver(None)

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # it may have died
            self._send(None)  # the worker exits on this, or on the end of its pipe
        self.process.join(STOP_TIMEOUT)
        if self.process.is_alive():
            log.warning("a parse worker did not stop within %.0f s; killed", STOP_TIMEOUT)
            self.process.kill()
            self.process.join()
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)  # it reads the end of the pipe
        self.connection.close()
        self.process.close()


def _settle(answered: asyncio.Future[Reply | None], reply: Reply | None) -> None:
    if not answered.done():  # not cancelled
        answered.set_result(reply)


def _serve(connection: Connection, limits: dict[str, int], not_its_own: list[Connection]) -> None:
    """A worker's life: read a document, send back what `read_document` made of it or the
    failure it raised, until it is told to stop or the pipe ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The fork may have copied a lock another thread held (the terminal's progress display
    # refreshes in one): a worker writes nothing, so it never waits for one. What goes wrong
    # in parsing comes back as the document's failure.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's life
    for inherited in not_its_own:
        inherited.close()
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        number, fetched = message
        try:
            reply: Reply = read_document(fetched, **limits)
        except FetchError as error:
            reply = error
        try:
            connection.send((number, reply))
        except Exception as error:  # a reply that does not pickle; pickling precedes sending
            failure = ParseFailed(f"could not return the parsed document: {describe(error)}")
            connection.send((number, failure))
