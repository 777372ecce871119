"""Parsing off the event loop: in worker processes when a poll cycle is big enough, else in a
thread.

Parsing and cleaning a feed is CPU work in Python (lxml, feedparser, text cleaning); done in the
fetching process it would leave the other core idle and stall every fetch behind it. A cycle
with at least `POOL_MIN_FEEDS` due feeds parses in a process pool with one worker per usable
core, started once at the start of the cycle and shut down at its end; documents of at least
`POOL_MIN_BYTES` go to it. Smaller cycles and smaller documents are parsed in a thread, where
the pool's cost (starting it; for each document, the round trip to a worker and back) would
outweigh what it saves.

The workers are forked, before the cycle starts its writer thread and event loop: a fork
starts in milliseconds with the parser already imported, and never re-runs the caller's main
module (as spawned or fork-server workers do, which breaks a script or `python -m` without a
main guard). Where fork does not exist, or a process may not have children (a daemon), parsing
stays in a thread. A worker that dies (the OOM killer, a crash inside a C parser) breaks the
pool: the documents in flight and the rest of the cycle are parsed in a thread, so no feed is
lost (a document that crashes the parser itself would then take the process down, as it did
before there were workers).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import describe
from .parse import read_document
from .records import FetchedFeed, ParsedFeed

log = logging.getLogger(__name__)

# Due feeds from which a cycle starts worker processes: forking them costs ~10-30 ms, once.
POOL_MIN_FEEDS = 24
# Documents from which parsing goes to a worker. A task's round trip through the pool costs
# the fetching process ~0.3-0.5 ms (queues, pickling, wake-ups); a 3 KB feed parses in ~0.5 ms
# and a 200 KB news feed in ~10-40 ms, so small documents are parsed in a thread (lxml parses
# without the GIL) and only bigger ones are worth the trip (benchmarks/poll_scale.py and
# benchmarks/ingest.py; the README has the figures).
POOL_MIN_BYTES = 16_384


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
        self._pool: ProcessPoolExecutor | None = None

    async def parse(self, fetched: FetchedFeed) -> ParsedFeed:
        """`read_document` elsewhere than on the event loop; raises what it raises."""
        pool = self._running() if len(fetched.body or b"") >= POOL_MIN_BYTES else None
        if pool is not None:
            try:
                return await asyncio.wrap_future(
                    pool.submit(read_document, fetched, **self._limits)
                )
            except BrokenProcessPool:
                self._abandon(pool)
        return await asyncio.to_thread(read_document, fetched, **self._limits)

    def _running(self) -> ProcessPoolExecutor | None:
        """The pool, started (all its workers forked) if it is not; None to parse in a thread."""
        if not self.in_processes or self._pool is not None:
            return self._pool
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        try:
            pool.submit(os.getpid).result()  # a forking pool starts every worker on first use
        except (OSError, AssertionError, BrokenProcessPool) as error:  # e.g. a daemon's children
            log.warning("parsing in a thread, not in worker processes: %s", describe(error))
            pool.shutdown(wait=False)
            self.in_processes = False
            return None
        self._pool = pool
        self.pools_started += 1
        return pool

    def _abandon(self, pool: ProcessPoolExecutor) -> None:
        """After a worker died: the rest of the cycle parses in a thread. The broken pool
        cleans itself up; a fresh one is not forked, as its workers, forked from a process
        whose threads are running, would inherit the broken pool's pipes and can hang its
        clean-up (CPython 3.11)."""
        if self._pool is pool:
            log.warning("a parse worker died; parsing the rest of this cycle in a thread")
            self._pool = None
            self.in_processes = False

    def __enter__(self) -> Parser:
        self._running()
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
