"""The analyzer: each word's Snowball English stem, in step with the folded words.

Text and queries go through the same steps: fold case and accents (`folding`), cut into words
(runs of letters and digits), then stem each word with the Snowball English stemmer (PyStemmer,
the Snowball project's C code). Matching compares stems, so `election` matches "elections" and
`"rate cut"` matches "rate cuts"; the folded words are kept alongside for exact words (`=met`)
and prefixes (`meet*`). Stemming replaces a word by one word, never more or fewer, so word k of
the stems is word k of the folded text and of the original: highlights stay on the original.

Words of other languages go through the English stemmer too, the same way in text and query,
so they still match themselves; scripts other than Latin pass through unchanged.
"""

from __future__ import annotations

import threading
from operator import itemgetter

import Stemmer

from .folding import word_list

_stemmer = Stemmer.Stemmer("english")
_lock = threading.Lock()  # a Stemmer object is not thread-safe; only cache misses reach it
# News vocabulary is small and repetitive: after the first few hundred articles almost every
# word is here, and a whole field is stemmed by one `map` over dict lookups.
_stems: dict[str, str] = {}
CACHE_LIMIT = 300_000


def stem(word: str) -> str:
    """The stem of one folded word: "elections" -> "elect", "meeting" -> "meet"."""
    found = _stems.get(word)
    if found is None:
        with _lock:
            if len(_stems) >= CACHE_LIMIT:
                _stems.clear()
            found = _stems[word] = _stemmer.stemWord(word)
    return found


def analyze(text: str) -> tuple[str, str]:
    """The folded words of `text` one space apart, and their stems one space apart."""
    tokens = word_list(text)
    if len(tokens) < 2:
        return (tokens[0], stem(tokens[0])) if tokens else ("", "")
    try:
        stems = itemgetter(*tokens)(_stems)  # one C call when every word is cached
    except KeyError:
        stems = map(stem, tokens)
    return " ".join(tokens), " ".join(stems)
