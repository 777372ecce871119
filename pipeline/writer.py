"""Storing a poll's outcomes without holding up its fetching: a writer thread takes each
feed's turn from a queue and writes whatever has queued up in one transaction.

A transaction takes the turns that arrive within `GROUP_WAIT` of its first one, and all that
queued while the previous one was written (up to `MAX_GROUP` turns, or until it holds
`GROUP_ARTICLES` articles), so 304s and fetch-log rows go in groups. A group is all or
nothing; if it fails, its turns are written one by one, so that one feed's bad row (or a
deadlock) is that feed's `store_error` and the others are stored. A process killed mid-group
loses that uncommitted group whole: no ETag without its articles, and the next poll fetches
those feeds again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from . import store
from .errors import describe
from .records import Article
from .store.fetches import Fetched

log = logging.getLogger(__name__)

MAX_GROUP = 250
# How long a group waits for more turns after its first. Writing each turn as it comes would
# take the GIL from the fetching thread for a transaction per feed (most of a cycle of 304s);
# a tenth of a second is nothing to a feed's next poll, and the end of a cycle does not wait.
GROUP_WAIT = 0.1
# A group that holds this many articles is written at once: a transaction's own cost is small
# next to 250 rows, and writing them while the rest of the cycle is still being parsed keeps
# the write off the end of the cycle (29 news feeds: the cycle's one group was written after
# the last parse, a quarter of the cycle; benchmarks/ingest.py).
GROUP_ARTICLES = 250
_STOP = object()

Written = Callable[[store.FetchRecord, list[int]], None]
StoreError = Callable[[store.FetchRecord, Exception], store.FetchRecord]


class Writer:
    """`put` each feed's record (and articles) from any thread; `on_written` is called in the
    writer's thread with what was stored; `on_error` turns a record that could not be stored
    into the failure record to store in its place."""

    def __init__(self, engine: Engine, on_written: Written, on_error: StoreError) -> None:
        self.engine = engine
        self.on_written = on_written
        self.on_error = on_error
        self.transactions = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="newswatch-writer", daemon=True)

    def put(self, record: store.FetchRecord, articles: Sequence[Article] = ()) -> None:
        self._queue.put((record, articles))

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Write everything queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            articles = len(first[1])  # type: ignore[index]
            until = time.monotonic() + GROUP_WAIT
            while len(group) < MAX_GROUP and articles < GROUP_ARTICLES:
                try:
                    more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                group.append(more)
                articles += len(more[1])  # type: ignore[index]
            self._write(group)  # type: ignore[arg-type]

    def _write(self, group: list[Fetched]) -> None:
        try:
            stored = store.record_fetches(self.engine, group)
        except Exception:
            log.debug("a group of %d feeds failed to store; one by one", len(group), exc_info=True)
            for record, articles in group:
                self._write_alone(record, articles)
            return
        self.transactions += 1
        for (record, _), new_ids in zip(group, stored, strict=True):
            self._written(record, new_ids)

    def _write_alone(self, record: store.FetchRecord, articles: Sequence[Article]) -> None:
        try:
            new_ids = store.record_fetch(self.engine, record, articles)
        except Exception as error:
            log.debug("storing feed %r raised", record.source.name, exc_info=True)
            record, new_ids = self.on_error(record, error), []
            try:
                store.record_fetch(self.engine, record)
            except Exception as failure:  # the database itself is failing: report, and go on
                log.error(
                    "feed %r: could not record its failure: %s",
                    record.source.name,
                    describe(failure),
                )
        self.transactions += 1
        self._written(record, new_ids)

    def _written(self, record: store.FetchRecord, new_ids: list[int]) -> None:
        try:
            self.on_written(record, new_ids)
        except Exception:
            log.exception("reporting feed %r failed; going on", record.source.name)
