"""Stories: the same wire story on ten sites is one story.

Each article's title and summary become word 3-gram shingles; a 64-value MinHash signature
estimates how many shingles two articles share (Jaccard similarity), and locality-sensitive
hashing (16 bands of 4 values) finds the candidates without comparing every pair. SimHash was
measured missing most near-duplicates at these lengths (30-80 words); MinHash does not.

An article joins the story of a near-duplicate published within the window (default 72 hours),
else starts a new story. Identical normalised text (the content hash) joins at once. Signatures
are stored with the articles, so any process rebuilds the window's index from the database, and
the index holds only the window: memory stays bounded however long it runs.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

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
    rows = sig.reshape(BANDS, ROWS).astype(np.uint64)
    mixed = (rows * _BAND_MIX).sum(axis=1) + np.arange(BANDS, dtype=np.uint64)
    return mixed.tolist()


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
        self._by_hash: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._story) - len(self._free)

    def add(self, article_id: int, story_id: int, sig: np.ndarray, content_hash: str,
            when: datetime) -> None:  # fmt: skip
        slot = self._free.pop() if self._free else self._grow()
        self._signatures[slot] = sig
        self._story[slot], self._article[slot] = story_id, article_id
        self._when[slot], self._hash[slot] = when, content_hash
        self._by_hash[content_hash] = slot
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
        """(story id, article id) of the closest near-duplicate within the window, if any."""
        exact = self._by_hash.get(content_hash)
        if exact is not None and self._within(exact, when):
            return self._story[exact], self._article[exact]
        best, best_score = None, THRESHOLD
        for slot in self._candidates(sig):
            if not self._within(slot, when):
                continue
            score = similarity(self._signatures[slot], sig)
            if score >= best_score:
                best, best_score = slot, score
        return None if best is None else (self._story[best], self._article[best])

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
        for slot in gone:
            for key in band_keys(self._signatures[slot]):
                bucket = self._buckets.get(key)
                if bucket == slot:
                    del self._buckets[key]
                elif isinstance(bucket, list):
                    bucket.remove(slot)
                    if len(bucket) == 1:
                        self._buckets[key] = bucket[0]
            if self._by_hash.get(self._hash[slot]) == slot:
                del self._by_hash[self._hash[slot]]
            self._when[slot] = None
            self._free.append(slot)
        return len(gone)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)
