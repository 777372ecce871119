"""Parsing off the event loop: in worker processes when a poll cycle is big enough, else in a
thread.

Parsing and cleaning a feed is CPU work in Python (lxml, feedparser, text cleaning); done in the
fetching process it would leave the other core idle and stall every fetch behind it. A cycle
with at least `POOL_MIN_FEEDS` due feeds parses in a process pool with one worker per usable
core, started once at the start of the cycle and shut down at its end. Smaller cycles parse in
a thread, where a pool's cost (starting it, and pickling each document to a worker and its
articles back) would outweigh what it saves on a few feeds.

The workers are forked, before the cycle starts its writer thread and event loop: a fork
starts in milliseconds with the parser already imported, and never re-runs the caller's main
module (as spawned or fork-server workers do, which breaks a script or `python -m` without a
main guard). Where fork does not exist, or a process may not have children (a daemon), parsing
stays in a thread. A worker that dies (a crash inside a C parser, the OOM killer) breaks the
pool: the documents in flight are parsed again in a fresh pool, and a document that breaks it
twice is that feed's `ParseFailed`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import ParseFailed, describe
from .parse import read_document
from .records import FetchedFeed, ParsedFeed

log = logging.getLogger(__name__)

# Due feeds from which a cycle parses in worker processes. Forking two workers and the round
# trips cost ~20-40 ms a cycle; a small document costs ~1-3 ms to parse and a news feed ~10-50
# ms, so from about two dozen feeds the second core wins back more than the pool costs
# (benchmarks/poll_scale.py and benchmarks/ingest.py measure both sides; see the README).
POOL_MIN_FEEDS = 24


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
        for _ in range(2):
            pool = self._running()
            if pool is None:
                return await asyncio.to_thread(read_document, fetched, **self._limits)
            try:
                return await asyncio.wrap_future(
                    pool.submit(read_document, fetched, **self._limits)
                )
            except BrokenProcessPool:
                self._discard(pool)
        raise ParseFailed("the parser process died reading this document, twice")

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

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, whichever of its documents notices first); the next
        document starts a fresh one."""
        if self._pool is pool:
            log.warning("a parser process died; parsing the documents in flight again")
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Parser:
        self._running()
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
