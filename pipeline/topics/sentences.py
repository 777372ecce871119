"""Where the sentences of a field begin, so that NEAR stays inside one sentence.

Two words a few words apart but on either side of a full stop belong to different
statements: "... talks with Kenya's president. The army chief later visited ..." does not
say the army chief held talks. A sentence ends at `.`, `!`, `?` or `…` (with any closing
quotes or brackets) followed by white space and a capital letter, digit or opening quote, and
at every line break (feeds put paragraphs on lines of their own). A full stop after an
abbreviation or an initial ("U.S. officials", "Gen. Asim Munir") ends nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Tried only where a run of stops begins, and never giving back what it read (possessive): else
# a run of thousands of dots in a hostile summary is re-read from each of them (quadratic).
_END = re.compile(
    r"(?<![.!?\u2026])[.!?\u2026]++[\"'\u201d\u2019)\]]*+\s++(?=[\"'\u201c\u2018(\[]?[A-Z0-9])|\n\s*"
)
_LAST_WORD = re.compile(r"([^\W\d_]+)[.]*$")
# Titles and shortenings that are followed by a full stop and a capitalised name.
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "maj",
        "capt",
        "cmdr",
        "adm",
        "sgt",
        "cpl",
        "gov",
        "sen",
        "rep",
        "rev",
        "st",
        "mt",
        "ft",
        "no",
        "nos",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "inc",
        "corp",
        "co",
        "ltd",
        "jr",
        "sr",
        "vs",
        "etc",
        "approx",
    ]
)


def sentence_starts(text: str) -> list[int]:
    """Character offsets where the second, third, ... sentence of `text` begin."""
    return list(iter_sentence_starts(text))


def iter_sentence_starts(text: str) -> Iterator[int]:
    """`sentence_starts`, one at a time, in order: a long body is read only as far as asked."""
    for end in _END.finditer(text):
        if end.group()[0] == ".":
            word = _LAST_WORD.search(text, max(0, end.start() - 12), end.start() + 1)
            if word and (len(word.group(1)) == 1 or word.group(1).lower() in ABBREVIATIONS):
                continue
        if end.end() < len(text):
            yield end.end()
