"""Stories: the same wire story on ten sites is one story.

Each article's title and summary become word 3-gram shingles; a 64-value MinHash signature
estimates how many shingles two articles share (Jaccard similarity), and locality-sensitive
hashing (16 bands of 4 values) finds the candidates without comparing every pair. SimHash was
measured missing most near-duplicates at these lengths (30-80 words); MinHash does not.

An article joins the story of a near-duplicate published within the window (default 72 hours),
else starts a new story. Identical normalised text (the content hash) joins at once. Signatures
are stored with the articles and their bucket keys beside them, so any process finds the same
candidates in the database; it reads only those (the stored articles sharing a bucket key or
the text within the window), so memory and reading stay bounded however large the table and
however far apart in time the articles of one batch are (see store/stories.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .topics.folding import words

SHINGLE = 3
PERMUTATIONS = 64
BANDS, ROWS = 16, 4  # candidates from about 50% similarity up (1 - (1 - s^4)^16)
THRESHOLD = 0.4  # estimated Jaccard at which a candidate is the same story
DEFAULT_WINDOW = timedelta(hours=72)

_rng = np.random.default_rng(20260723)  # fixed: signatures are stored and compared across runs
_A = _rng.integers(1, 2**63, PERMUTATIONS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
_B = _rng.integers(0, 2**63, PERMUTATIONS, dtype=np.uint64)
_BAND_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x27D4EB2F165667C5], dtype=np.uint64)  # fmt: skip


def shingle_hashes(title: str, summary: str) -> np.ndarray:
    """Stable 32-bit hashes of the word 3-grams of title and summary (fewer words: the words)."""
    tokens = words(f"{title} {summary}")
    grams = (
        [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]
        if len(tokens) >= SHINGLE
        else tokens
    )
    return np.fromiter((zlib.crc32(g.encode()) for g in set(grams)), dtype=np.uint64)


def signature(title: str, summary: str) -> np.ndarray:
    """64 MinHash values (uint32) by multiply-shift hashing: ((a*x + b) mod 2^64) >> 32."""
    hashes = shingle_hashes(title, summary)
    if hashes.size == 0:
        return np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)
    values = (hashes[:, None] * _A + _B) >> np.uint64(32)  # uint64 arithmetic wraps: mod 2^64
    return values.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of MinHash values two signatures agree on."""
    return float(np.count_nonzero(a == b)) / PERMUTATIONS


def band_keys(sig: np.ndarray) -> list[int]:
    return band_key_matrix(sig.reshape(1, PERMUTATIONS))[0].tolist()


def band_key_matrix(signatures: np.ndarray) -> np.ndarray:
    """The LSH bucket keys of many signatures (an n x 64 array) at once: n x 16 uint64."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    return (rows * _BAND_MIX).sum(axis=2) + np.arange(BANDS, dtype=np.uint64)


def _latest(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class Nearest:
    """What an article could join in one index, kept apart so indexes can be merged: the
    most recent article with the identical text within the window, and the closest
    near-duplicate within it (of equally close ones, the most recent: highest id)."""

    exact: tuple[int, int] | None = None  # (article id, story id)
    near: tuple[float, int, int] | None = None  # (similarity, article id, story id)

    def merge(self, other: Nearest) -> Nearest:
        return Nearest(_latest(self.exact, other.exact), _latest(self.near, other.near))  # type: ignore[arg-type]

    @property
    def choice(self) -> tuple[int, int] | None:
        """(story id, article id) to join: an identical text first; None: a new story."""
        if self.exact is not None:
            return self.exact[1], self.exact[0]
        if self.near is not None:
            return self.near[2], self.near[1]
        return None


class StoryIndex:
    """The articles of the window: signatures in one growable array, LSH buckets from band key
    to slots, and the content hashes for exact copies. Evicted slots are reused."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._signatures = np.zeros((1024, PERMUTATIONS), dtype=np.uint32)
        self._story: list[int] = []
        self._article: list[int] = []
        self._when: list[datetime | None] = []
        self._hash: list[str] = []
        self._free: list[int] = []
        self._buckets: dict[int, int | list[int]] = {}
        self._by_hash: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._story) - len(self._free)

    def add(self, article_id: int, story_id: int, sig: np.ndarray, content_hash: str,
            when: datetime) -> None:  # fmt: skip
        slot = self._free.pop() if self._free else self._grow()
        self._signatures[slot] = sig
        self._story[slot], self._article[slot] = story_id, article_id
        self._when[slot], self._hash[slot] = when, content_hash
        self._by_hash.setdefault(content_hash, []).append(slot)
        for key in band_keys(sig):
            found = self._buckets.get(key)
            if found is None:
                self._buckets[key] = slot
            elif isinstance(found, int):
                self._buckets[key] = [found, slot]
            else:
                found.append(slot)

    def _grow(self) -> int:
        slot = len(self._story)
        if slot == len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
        self._story.append(0)
        self._article.append(0)
        self._when.append(None)
        self._hash.append("")
        return slot

    def find(self, sig: np.ndarray, content_hash: str, when: datetime) -> tuple[int, int] | None:
        """(story id, article id) of the article to join within the window, if any."""
        return self.nearest(sig, content_hash, when).choice

    def nearest(self, sig: np.ndarray, content_hash: str, when: datetime) -> Nearest:
        article, story = self._article, self._story
        same = [s for s in self._by_hash.get(content_hash, ()) if self._within(s, when)]
        exact = max((article[s], story[s]) for s in same) if same else None
        near = None
        for slot in self._candidates(sig):
            if not self._within(slot, when):
                continue
            score = similarity(self._signatures[slot], sig)
            if score >= THRESHOLD:
                near = _latest(near, (score, article[slot], story[slot]))
        return Nearest(exact, near)  # type: ignore[arg-type]

    def _candidates(self, sig: np.ndarray) -> set[int]:
        found: set[int] = set()
        for key in band_keys(sig):
            bucket = self._buckets.get(key)
            if bucket is None:
                continue
            if isinstance(bucket, int):
                found.add(bucket)
            else:
                found.update(bucket)
        return found

    def _within(self, slot: int, when: datetime) -> bool:
        seen = self._when[slot]
        return seen is not None and abs(when - seen) <= self.window

    def evict_before(self, moment: datetime) -> int:
        """Drop every article older than `moment`; returns how many left."""
        gone = [s for s, when in enumerate(self._when) if when is not None and when < moment]
        if not gone:
            return 0
        leaving = set(gone)
        keys = set(band_key_matrix(self._signatures[gone]).ravel().tolist())
        buckets = self._buckets
        for key in keys:  # each bucket rebuilt once, however many of its slots leave
            bucket = buckets[key]
            if bucket.__class__ is int:
                if bucket in leaving:
                    del buckets[key]
                continue
            kept = [s for s in bucket if s not in leaving]  # type: ignore[union-attr]
            if not kept:
                del buckets[key]
            else:
                buckets[key] = kept[0] if len(kept) == 1 else kept
        for slot in gone:
            same = self._by_hash[self._hash[slot]]
            same.remove(slot)
            if not same:
                del self._by_hash[self._hash[slot]]
            self._when[slot] = None
            self._free.append(slot)
        return len(gone)


class StoredWindow:
    """Stored candidates read back to compare new ones with, as time-ordered chunks of numpy
    arrays (each chunk's bucket keys and content hashes sorted once): a lookup is a few binary
    searches per chunk, and only candidates that truly share a bucket key with the article, or
    its text, within its window count. Times are microseconds since the epoch."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window // timedelta(microseconds=1)
        self._chunks: list[_Chunk] = []

    def __len__(self) -> int:
        return sum(len(c.ids) for c in self._chunks)

    def add(self, ids: np.ndarray, stories: np.ndarray, when: np.ndarray, signatures: np.ndarray,
            hashes: Sequence[str]) -> None:  # fmt: skip
        """One chunk, ordered by `when`."""
        if len(ids):
            self._chunks.append(_Chunk.of(ids, stories, when, signatures, hashes))

    def drop_before(self, moment: int) -> None:
        self._chunks = [c for c in self._chunks if c.when[-1] >= moment]

    def nearest(self, sig: np.ndarray, content_hash: str, when: int) -> Nearest:
        keys = band_key_matrix(sig.reshape(1, PERMUTATIONS))[0]
        found = Nearest()
        for chunk in self._chunks:
            if chunk.when[0] <= when + self.window and chunk.when[-1] >= when - self.window:
                found = found.merge(chunk.nearest(sig, keys, content_hash, when, self.window))
        return found


@dataclass(frozen=True, slots=True)
class _Chunk:
    ids: np.ndarray
    stories: np.ndarray
    when: np.ndarray
    signatures: np.ndarray
    keys: np.ndarray  # every row's 16 bucket keys, sorted
    key_rows: np.ndarray  # the row of each sorted key
    hashes: np.ndarray  # content hashes, sorted
    hash_rows: np.ndarray

    @classmethod
    def of(cls, ids: np.ndarray, stories: np.ndarray, when: np.ndarray, signatures: np.ndarray,
           hashes: Sequence[str]) -> _Chunk:  # fmt: skip
        keys = band_key_matrix(signatures).ravel()
        key_order = np.argsort(keys, kind="stable")
        texts = np.asarray(hashes, dtype=object)
        hash_order = np.argsort(texts, kind="stable")
        return cls(ids, stories, when, signatures, keys[key_order], key_order // BANDS,
                   texts[hash_order], hash_order)  # fmt: skip

    def nearest(self, sig: np.ndarray, keys: np.ndarray, content_hash: str, when: int,
                window: int) -> Nearest:  # fmt: skip
        exact = None
        start = int(np.searchsorted(self.hashes, content_hash, "left"))
        end = int(np.searchsorted(self.hashes, content_hash, "right"))
        rows = self._within(self.hash_rows[start:end], when, window)
        if rows.size:
            best = rows[np.argmax(self.ids[rows])]
            exact = (int(self.ids[best]), int(self.stories[best]))
        starts = np.searchsorted(self.keys, keys, "left").tolist()
        ends = np.searchsorted(self.keys, keys, "right").tolist()
        spans = [self.key_rows[a:b] for a, b in zip(starts, ends, strict=True) if a < b]
        if not spans:
            return Nearest(exact, None)
        rows = self._within(np.unique(np.concatenate(spans)), when, window)
        scores = np.count_nonzero(self.signatures[rows] == sig, axis=1) / PERMUTATIONS
        close = scores >= THRESHOLD
        candidates = zip(scores[close].tolist(), self.ids[rows[close]].tolist(),
                         self.stories[rows[close]].tolist(), strict=True)  # fmt: skip
        return Nearest(exact, max(candidates, default=None))

    def _within(self, rows: np.ndarray, when: int, window: int) -> np.ndarray:
        return rows[np.abs(self.when[rows] - when) <= window]


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes_matrix(data: Sequence[bytes]) -> np.ndarray:
    """Many stored signatures at once: an n x 64 uint32 array."""
    matrix = np.frombuffer(b"".join(data), dtype="<u4").astype(np.uint32)
    return matrix.reshape(len(data), PERMUTATIONS)


def stored_band_keys(signatures: np.ndarray) -> np.ndarray:
    """The bucket keys of n signatures as the database keeps them: n x 16 signed 64-bit."""
    return band_key_matrix(signatures).view(np.int64)
