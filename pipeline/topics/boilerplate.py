"""Text a feed repeats in item after item says nothing about any one story.

Feeds append the same lines to many items: a podcast's "Listen to ... on Apple Podcasts", a
newsletter's sign-up pitch, a standing note on the war or the election the desk covers. A
topic that mentions an election then matches every item of the feed. So the sentences of the
summary and the body that recur word for word (after folding) in several items of one feed
are boilerplate, and are blanked before matching: replaced by spaces of the same length, so
offsets in the rest of the text, and the highlights on it, do not move. Titles are left alone:
a headline is never boilerplate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from .folding import word_text
from .matcher import Document
from .sentences import sentence_starts

MIN_ITEMS = 3  # a sentence in this many items of a feed is the feed's, not the story's
MIN_WORDS = 4  # shorter repeats ("Read more.") carry no topic words worth blanking


def _sentences(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, folded words) of each sentence of `text` long enough to count."""
    bounds = [0, *sentence_starts(text), len(text)]
    for start, end in pairwise(bounds):
        key = word_text(text[start:end])
        if key.count(" ") + 1 >= MIN_WORDS:
            yield start, end, key


@dataclass(frozen=True, slots=True)
class Boilerplate:
    """The sentences one feed repeats, as folded words one space apart."""

    passages: frozenset[str] = frozenset()

    def strip(self, document: Document) -> Document:
        """The document with its boilerplate sentences blanked, the same length."""
        if not self.passages:
            return document
        summary, content = (self._blank(text) for text in (document.summary, document.content))
        if summary is document.summary and content is document.content:
            return document
        return Document(document.title, summary, content)

    def _blank(self, text: str) -> str:
        spans = [(a, b) for a, b, key in _sentences(text) if key in self.passages]
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], " " * (end - start)]
            last = end
        return "".join(parts) + text[last:]


def learn_boilerplate(documents: Iterable[Document], min_items: int = MIN_ITEMS) -> Boilerplate:
    """The sentences that recur in at least `min_items` of one feed's `documents`."""
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(
            {key for text in (document.summary, document.content) for *_, key in _sentences(text)}
        )
    return Boilerplate(frozenset(key for key, count in counts.items() if count >= min_items))
