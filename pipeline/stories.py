"""Stories: the same wire story on ten sites is one story.

Each article's title and summary become word 3-gram shingles; a 64-value MinHash signature
estimates how many shingles two articles share (Jaccard similarity), and locality-sensitive
hashing (16 bands of 4 values) finds the candidates without comparing every pair. SimHash was
measured missing most near-duplicates at these lengths (30-80 words); MinHash does not.

An article joins the story of a near-duplicate published within the window (default 72 hours),
else starts a new story. Identical normalised text (the content hash) joins at once. Signatures
are stored with the articles, so any process rebuilds the index from the database; it holds
only the articles near the ones being placed, so memory stays bounded however long it runs and
however far apart in time the articles of one batch are (see store/stories.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
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
    return band_keys_of(sig.reshape(1, PERMUTATIONS))[0]


def band_keys_of(signatures: np.ndarray) -> list[list[int]]:
    """The LSH bucket keys of many signatures (an n x 64 array) at once."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    mixed = (rows * _BAND_MIX).sum(axis=2) + np.arange(BANDS, dtype=np.uint64)
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
        self.add_many([article_id], [story_id], sig.reshape(1, PERMUTATIONS), [content_hash],
                      [when])  # fmt: skip

    def add_many(
        self,
        article_ids: Sequence[int],
        story_ids: Sequence[int],
        signatures: np.ndarray,
        content_hashes: Sequence[str],
        whens: Sequence[datetime],
    ) -> None:
        """Add articles (an n x 64 array of signatures): bucket keys in one vectorised step,
        signatures copied in one, then only dictionary work per article."""
        if not len(signatures):
            return
        slots = self._slots(len(signatures))
        self._signatures[slots] = signatures
        buckets, by_hash, article = self._buckets, self._by_hash, self._article
        rows = zip(slots, article_ids, story_ids, content_hashes, whens,
                   band_keys_of(signatures), strict=True)  # fmt: skip
        for slot, article_id, story_id, content_hash, when, keys in rows:
            self._story[slot], article[slot] = story_id, article_id
            self._when[slot], self._hash[slot] = when, content_hash
            # One pointer per text: the most recent article (highest id) with it.
            same = by_hash.get(content_hash)
            if same is None or article[same] < article_id:
                by_hash[content_hash] = slot
            for key in keys:
                found = buckets.get(key)
                if found is None:
                    buckets[key] = slot
                elif found.__class__ is int:
                    buckets[key] = [found, slot]
                else:
                    found.append(slot)

    def _slots(self, count: int) -> list[int]:
        """`count` slots: freed ones first, then new ones (the arrays grow by doubling)."""
        reused = [self._free.pop() for _ in range(min(count, len(self._free)))]
        start, extra = len(self._story), count - len(reused)
        while start + extra > len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
        self._story.extend([0] * extra)
        self._article.extend([0] * extra)
        self._when.extend([None] * extra)
        self._hash.extend([""] * extra)
        return reused + list(range(start, start + extra))

    def find(self, sig: np.ndarray, content_hash: str, when: datetime) -> tuple[int, int] | None:
        """(story id, article id) of the closest near-duplicate within the window, if any; of
        equally close ones, the most recent article (highest id), whatever order they came in."""
        exact = self._by_hash.get(content_hash)
        if exact is not None and self._within(exact, when):
            return self._story[exact], self._article[exact]
        best, best_rank = None, (THRESHOLD, -1)
        for slot in self._candidates(sig):
            if not self._within(slot, when):
                continue
            rank = (similarity(self._signatures[slot], sig), self._article[slot])
            if rank >= best_rank:
                best, best_rank = slot, rank
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
        if not gone:
            return 0
        leaving = set(gone)
        keys = {key for slot_keys in band_keys_of(self._signatures[gone]) for key in slot_keys}
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
            if self._by_hash.get(self._hash[slot]) == slot:
                del self._by_hash[self._hash[slot]]
            self._when[slot] = None
            self._free.append(slot)
        return len(gone)


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)
