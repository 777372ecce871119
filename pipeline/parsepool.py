"""Parsing off the event loop: in worker processes when a poll cycle is big enough, else in a
thread.

Parsing and cleaning a feed is CPU work in Python (lxml, feedparser, text cleaning); done in the
fetching process it would leave one core idle and stall every fetch behind it. A cycle with at
least `POOL_MIN_FEEDS` due feeds parses in a process pool with one worker per usable core,
started once, at the cycle's first document (a cycle of 304s starts none), and shut down when
the cycle ends. Smaller cycles parse in a thread: a pool's start (forking the workers and
pickling every document there and back, ~0.05 s a cycle once the fork server is up, ~0.4 s for
the fork server's own start, once per process) costs more than it saves on a few feeds.

Workers fork from a fork server that has imported the parser once, so they start in
milliseconds without inheriting the poller's threads and locks. A worker that dies (a crash
inside a C parser, the OOM killer) breaks the pool; the documents in flight are then parsed
again in a fresh pool, and a document that breaks it twice is that feed's `ParseFailed`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from .errors import ParseFailed, describe
from .parse import read_document
from .records import FetchedFeed, ParsedFeed

log = logging.getLogger(__name__)

# Due feeds from which a cycle parses in worker processes (measured in benchmarks/poll_scale.py:
# at ~1 ms a small document, 24 documents pay for the pool's start; the README has figures).
POOL_MIN_FEEDS = 24


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipeline.parse"])
    return context


class Parser:
    """Parses one cycle's documents; `async with` it around the cycle."""

    def __init__(self, due_feeds: int, *, max_bytes: int, max_items: int) -> None:
        self.workers = usable_cores()
        self.in_processes = self.workers > 1 and due_feeds >= POOL_MIN_FEEDS
        self.pools_started = 0
        self._limits = {"max_bytes": max_bytes, "max_items": max_items}
        self._pool: ProcessPoolExecutor | None = None

    async def parse(self, fetched: FetchedFeed) -> ParsedFeed:
        """`read_document` elsewhere than on the event loop; raises what it raises."""
        if self.in_processes:
            for _ in range(2):
                pool = self._running()
                try:
                    return await asyncio.wrap_future(
                        pool.submit(read_document, fetched, **self._limits)
                    )
                except BrokenProcessPool:
                    self._discard(pool)
                except (OSError, AssertionError) as error:  # e.g. no children for a daemon
                    log.warning("parsing in this process, not in a pool: %s", describe(error))
                    self._discard(pool)
                    self.in_processes = False
                    break
            else:
                raise ParseFailed("the parser process died reading this document, twice")
        return await asyncio.to_thread(read_document, fetched, **self._limits)

    def _running(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context())
            self.pools_started += 1
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, whichever of its documents notices first); the next
        document starts a fresh one."""
        if self._pool is pool:
            log.warning("a parser process died; parsing the documents in flight again")
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def __aenter__(self) -> Parser:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
            self._pool = None
