"""One article scanned for every topic's patterns at once, and where its words stand.

The article's fields are folded and cut into words (`folding`), and each word is stemmed
(`analysis`). The words become one string of fixed-width codes, one code per word, searched by a
single Aho-Corasick automaton:

- stems that some topic asks about get a code of their own, every other word the "other" code;
  ordinary words and phrases are patterns of codes;
- a code's first character comes from one of two blocks and the rest from a third, so a pattern
  can only match at the start of a word, and word k sits at characters k * width onwards: a
  match's word number is arithmetic, never a count;
- the second block flags a word that equals an exact word (`=met`) or starts a prefix
  (`meet*`) that a topic asks for; the few flagged words are then looked up by themselves, and
  each stem pattern is added in both spellings of each of its words.

What a word is (its code, the exact words and prefixes it answers) is worked out once per
distinct word and remembered, so a field costs one dict lookup per word, in C.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import product
from operator import itemgetter
from typing import TYPE_CHECKING

from .analysis import stem
from .folding import fold, word_list
from .sentences import iter_sentence_starts

if TYPE_CHECKING:
    from .matcher import Document

STEMS, WORDS = 0, 1  # how a pattern is found: by its stems' codes, or word by word
SEPARATOR = "\x00"  # between fields in the list of folded words: equal to no word
# A run of words in one field: (field index, first word, last word + 1). Plain tuples: many
# are made, and they sort by field then position.
Position = tuple[int, int, int]
# An exact word or phrase, or a prefix (with the words before it exact): (words, prefix?)
WordPattern = tuple[tuple[str, ...], bool]

_PLAIN, _FLAGGED, _NEXT, _BASE = 0x4E00, 0x3400, 0xAC00, 32  # CJK, CJK extension A, Hangul
# The first characters of flagged codes, which the automaton reports as this pattern number
# (found in the same pass as the stems, sorted before them)
FLAG = -1
FLAG_MARKS = tuple(chr(_FLAGGED + digit) for digit in range(_BASE))
_CACHE_LIMIT = 300_000
_NONE: tuple[int, ...] = ()


class Lexicon:
    """Everything a matcher's topics ask of a word: the code of its stem (or "other"), and
    the exact words and prefixes it answers.

    Codes are as short as the number of stems allows (two characters for up to a thousand
    stems, three for 32,000); each character takes one of only 32 values, which keeps the
    automaton's nodes small and its walk fast."""

    def __init__(self, stems: Collection[str], words: Mapping[int, WordPattern]) -> None:
        ordered = sorted(set(stems))
        self.width = 2
        while _BASE**self.width < len(ordered) + 2:
            self.width += 1
        self._other = self._digits(0)
        self.field_break = self._code(self._digits(1))
        self._by_stem = {item: self._digits(i + 2) for i, item in enumerate(ordered)}
        self.words = dict(words)
        # one-word patterns: found wherever their word is, nothing after it to check
        self.single = frozenset(p for p, (parts, _) in self.words.items() if len(parts) == 1)
        self._exact: dict[str, list[int]] = {}  # word -> patterns whose first word it is
        self._prefixes: dict[str, list[int]] = {}  # prefix -> one-word prefix patterns
        for pattern, (parts, prefix) in self.words.items():
            index = self._prefixes if prefix and len(parts) == 1 else self._exact
            index.setdefault(parts[0], []).append(pattern)
        self._longest = max(map(len, self._prefixes), default=0)
        self._codes: dict[str, str] = {}  # folded word -> its code
        self._hits: dict[str, tuple[int, ...]] = {}  # flagged folded word -> its patterns
        self._lock = threading.Lock()

    def _digits(self, number: int) -> tuple[int, ...]:
        digits = []
        for _ in range(self.width):
            number, digit = divmod(number, _BASE)
            digits.append(digit)
        return tuple(reversed(digits))

    def _code(self, digits: tuple[int, ...], flagged: bool = False) -> str:
        first, *rest = digits
        return chr((_FLAGGED if flagged else _PLAIN) + first) + "".join(
            chr(_NEXT + d) for d in rest
        )

    def spellings(self, stems: Sequence[str]) -> Iterator[str]:
        """A run of stems as code strings: every mix of plain and flagged codes."""
        choices = [
            (self._code(self._by_stem[s]), self._code(self._by_stem[s], True)) for s in stems
        ]
        return ("".join(codes) for codes in product(*choices))

    def encode(self, tokens: list[str]) -> str:
        """A field's folded words as a code string."""
        try:
            if len(tokens) > 1:
                return "".join(itemgetter(*tokens)(self._codes))
            return self._codes[tokens[0]]
        except KeyError:
            return "".join(map(self._learn, tokens))

    def hits(self, token: str) -> tuple[int, ...]:
        """The word patterns a flagged word starts."""
        found = self._hits.get(token)
        return self._patterns_of(token) if found is None else found

    def _patterns_of(self, token: str) -> tuple[int, ...]:
        found = list(self._exact.get(token, _NONE))
        for length in range(1, min(len(token), self._longest) + 1):
            found += self._prefixes.get(token[:length], _NONE)
        return tuple(sorted(found))

    def _learn(self, token: str) -> str:
        code = self._codes.get(token)
        if code is None:
            hits = self._patterns_of(token) if self.words else _NONE
            code = self._code(self._by_stem.get(stem(token), self._other), bool(hits))
            with self._lock:
                if len(self._codes) >= _CACHE_LIMIT:
                    self._codes.clear()
                    self._hits.clear()
                if hits:
                    self._hits[token] = hits
                self._codes[token] = code
        return code


@dataclass(frozen=True, slots=True)
class Atom:
    """What a term is matched by: a pattern, found by stems or word by word, and for a
    stemmed phrase ending in a prefix (`"defence minist*"`) the prefix the next folded word
    must start with."""

    pattern: int
    kind: int  # STEMS or WORDS
    words: int  # words a match covers
    check: str | None = None


@dataclass(slots=True)
class Scan:
    """One document after the pass: where each pattern's matches are. Word positions are
    worked out only for the atoms a candidate topic's evaluation asks about."""

    document: Document
    tokens: list[str]  # the folded words of all fields, SEPARATOR between fields
    field_starts: tuple[int, int, int]  # word number where title, summary, content begin
    # the automaton's hits, (offset of the last code character, pattern), by pattern then
    # offset, and their patterns alone, to find a pattern's run by bisection
    hits: list[tuple[int, int]]
    keys: list[int]
    words: dict[int, list[int]]  # exact-word and prefix pattern -> number of its first words
    present: frozenset[int]  # the patterns that occurred
    width: int  # characters per word code
    _positions: dict[int, list[Position]] = field(default_factory=dict)  # id(atom) -> ...
    _spans: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    _folded: dict[int, str] = field(default_factory=dict)
    # field -> character offset after every STEP-th word, the way into a long body
    _marks: dict[int, list[int]] = field(default_factory=dict)
    _sentences: dict[int, list[int]] = field(default_factory=dict)  # field -> sentence starts
    _more_sentences: dict[int, Iterator[int] | None] = field(default_factory=dict)

    @property
    def lengths(self) -> tuple[int, int]:
        """Words in the title and in the summary."""
        title, summary, content = self.field_starts
        return summary - title - 1, content - summary - 1

    @property
    def offsets(self) -> tuple[int, int, int]:
        """Where title, summary and content begin when read as one line of words."""
        _, summary, content = self.field_starts
        return 0, summary - 1, content - 2

    def positions(self, atom: Atom) -> list[Position] | None:
        found = self._positions.get(id(atom))  # a matcher keeps its atoms: ids are stable
        if found is not None or atom.pattern not in self.present:
            return found
        _, summary_at, content_at = self.field_starts
        if atom.kind == STEMS:
            width, before = self.width, atom.words - 1 - (atom.check is not None)
            run = self.hits[
                bisect_left(self.keys, atom.pattern) : bisect_right(self.keys, atom.pattern)
            ]
            firsts = [end // width - before for end, _ in run]
        else:
            firsts = self.words[atom.pattern]
        found = []
        for word in firsts:
            if atom.check is not None:
                last = word + atom.words - 1
                if last >= len(self.tokens) or not self.tokens[last].startswith(atom.check):
                    continue
            at = 2 if word >= content_at else 1 if word >= summary_at else 0
            first = word - self.field_starts[at]
            found.append((at, first, first + atom.words))
        self._positions[id(atom)] = found
        return found

    def near(self, a: Position, b: Position, distance: int) -> bool:
        """Whether two runs of words that do not overlap stand at most `distance` words
        apart in one sentence of one field. Sentences are found only for pairs that are close
        enough, in the few articles where a NEAR is asked about."""
        if a[0] != b[0] or max(0, b[1] - a[2], a[1] - b[2]) > distance:
            return False
        if a[1] < b[2] and b[1] < a[2]:  # the same words cannot be both sides of a NEAR
            return False
        first, second = sorted((a, b))
        later = self.char_span(second)[0]
        starts = self._sentences_to(a[0], later)
        # one sentence when no sentence starts after the first run begins and by the second
        return bisect_right(starts, self.char_span(first)[0]) == bisect_right(starts, later)

    def close_pairs(
        self, left: Sequence[Position], right: Sequence[Position], distance: int
    ) -> Iterator[tuple[Position, Position]]:
        """Every (a, b) of `left` x `right` that is `near`, in that order (by a, then b), trying
        for each a only the b's that start close enough: a hostile body that names both
        sides thousands of times would otherwise cost the product of their counts."""
        if not left or not right:
            return
        longest = max(b[2] - b[1] for b in right)
        by_field: dict[int, tuple[list[int], list[int]]] = {}
        for i in sorted(range(len(right)), key=lambda i: right[i][:2]):
            starts, indices = by_field.setdefault(right[i][0], ([], []))
            starts.append(right[i][1])
            indices.append(i)
        for a in left:
            if a[0] not in by_field:
                continue
            starts, indices = by_field[a[0]]
            low = bisect_left(starts, a[1] - distance - longest)
            high = bisect_right(starts, a[2] + distance)
            for i in sorted(indices[low:high]):
                if self.near(a, right[i], distance):
                    yield a, right[i]

    def _sentences_to(self, field_index: int, offset: int) -> list[int]:
        """The field's sentence starts, at least all those up to `offset`: the sentences of a
        long body are found only as far as a NEAR's words stand."""
        starts = self._sentences.setdefault(field_index, [])
        more = self._more_sentences.get(field_index)
        if more is None and field_index not in self._more_sentences:
            more = iter_sentence_starts(self.document.fields[field_index])
        while more is not None and (not starts or starts[-1] <= offset):
            start = next(more, None)
            if start is None:
                more = None
            else:
                starts.append(start)
        self._more_sentences[field_index] = more
        return starts

    def char_span(self, position: Position) -> tuple[int, int]:
        """Character offsets of a run of words. Folding keeps every character in place, so
        word k of the folded text is word k of the original."""
        field_index, start, end = position
        first = self._word_span(field_index, start)
        return first[0], (first if end == start + 1 else self._word_span(field_index, end - 1))[1]

    def _word_span(self, field_index: int, word: int) -> tuple[int, int]:
        """Character offsets of word number `word` of a field. A mention can stand deep in a
        long body: words are skipped STEP at a time by one regular expression each, in C, and
        every STEP-th word's offset is kept, so a field is read at most once."""
        found = self._spans.get((field_index, word))
        if found is not None:
            return found
        text = self._folded.get(field_index)
        if text is None:
            text = self._folded[field_index] = fold(self.document.fields[field_index])
        marks = self._marks.setdefault(field_index, [0])
        block, rest = divmod(word, STEP)
        while len(marks) <= block:
            skipped = _SKIP.match(text, marks[-1])
            assert skipped is not None, "a position past the field's last word"
            marks.append(skipped.end())
        last = _skip_then_word(rest).match(text, marks[block])
        assert last is not None, "a position past the field's last word"
        found = self._spans[field_index, word] = last.span(1)
        return found


# Words, as folding.WORD finds them, skipped by the regular expression engine: the quantifiers are
# possessive, so a word is never split to make up a count.
STEP = 32
_ONE_WORD = r"[\W_]*+[^\W_]++"
_SKIP = re.compile(f"(?:{_ONE_WORD}){{{STEP}}}")


@cache
def _skip_then_word(words: int) -> re.Pattern[str]:
    """A pattern that skips `words` words, then captures the next one."""
    return re.compile(f"(?:{_ONE_WORD}){{{words}}}[\\W_]*+([^\\W_]++)")


def encode(document: Document, lexicon: Lexicon) -> tuple[str, list[str], tuple[int, int, int]]:
    """The code string of the document's fields (a field break between them, a code that no
    pattern contains, so no phrase spans two fields), all its folded words (SEPARATOR between
    fields) and the word number where each field begins."""
    coded: list[str] = []
    tokens: list[str] = []
    starts = []
    for index, text in enumerate(document.fields):
        if index:
            coded.append(lexicon.field_break)
            tokens.append(SEPARATOR)
        starts.append(len(tokens))
        words = word_list(text)
        if words:
            coded.append(lexicon.encode(words))
            tokens += words
    return "".join(coded), tokens, (starts[0], starts[1], starts[2])


def word_hits(
    flags: Sequence[tuple[int, int]], tokens: list[str], lexicon: Lexicon
) -> dict[int, list[int]]:
    """Where each exact-word or prefix pattern matched, from the automaton's hits on flagged
    codes (the few words a topic asks for by their letters), in text order. A phrase does not
    go on past its field: SEPARATOR equals no word."""
    found: dict[int, list[int]] = {}
    width, patterns, single = lexicon.width, lexicon.words, lexicon.single
    for end, _ in flags:
        at = end // width  # a flag is the first character of its word's code
        for pattern in lexicon.hits(tokens[at]):
            if pattern in single or _continues(patterns[pattern], tokens, at):
                found.setdefault(pattern, []).append(at)
    return found


def _continues(pattern: WordPattern, words: list[str], at: int) -> bool:
    """Whether an exact phrase of two words or more (or one ending in a prefix) whose first
    word is words[at] goes on in the same field."""
    parts, prefix = pattern
    following = words[at + 1 : at + len(parts)]
    if len(following) < len(parts) - 1:
        return False
    *middle, last = parts[1:]
    if following[:-1] != middle:
        return False
    return following[-1].startswith(last) if prefix else following[-1] == last
