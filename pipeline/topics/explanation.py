"""Why a topic matched: the records a verdict is explained with, and the highlighted snippet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SNIPPET_CHARS = 240


@dataclass(frozen=True, slots=True)
class TermHit:
    """One term's mentions in one field, with what each is worth as evidence."""

    term: str  # as written in the query: `"rate cut"`, `=met`, `meet*`
    field: str
    offsets: tuple[tuple[int, int], ...]  # character offsets in that field's original text
    analyzed: str = ""  # what was matched: stems (`rate cut`), exact words, a prefix
    words: tuple[str, ...] = ()  # the mentions as they stand in the text, e.g. "rate cuts"
    weights: tuple[float, ...] = ()  # each mention's weight: where it stands (title 1.0 ...)


@dataclass(frozen=True, slots=True)
class ClauseExplanation:
    clause: str
    matched: bool
    hits: tuple[TermHit, ...]
    evidence: float = 0.0  # 0..1: how strongly the clause is stated (see `evidence`)


@dataclass(frozen=True, slots=True)
class Snippet:
    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]  # character offsets in `text`


@dataclass(frozen=True, slots=True)
class Explanation:
    clauses: tuple[ClauseExplanation, ...]
    snippet: Snippet | None
    excluded_by: tuple[TermHit, ...] = ()
    together: float = 1.0  # 0..1: how close together the clauses were stated

    def to_dict(self) -> dict[str, object]:
        return {
            "clauses": [
                {
                    "clause": c.clause,
                    "matched": c.matched,
                    "evidence": c.evidence,
                    "hits": [_hit_dict(h) for h in c.hits],
                }
                for c in self.clauses
            ],
            "together": self.together,
            "snippet": None
            if self.snippet is None
            else {
                "field": self.snippet.field,
                "text": self.snippet.text,
                "highlights": [list(h) for h in self.snippet.highlights],
            },
            "excluded_by": [_hit_dict(h) for h in self.excluded_by],
        }

    @property
    def matched_terms(self) -> list[str]:
        seen = dict.fromkeys(h.term for c in self.clauses for h in c.hits)
        return list(seen)

    @property
    def combined(self) -> bool:
        """Whether the score combines several clauses' evidence (their geometric mean times
        closeness), as `topics explain` and the explain page say; NOT clauses carry none."""
        return sum(not c.clause.startswith("NOT ") for c in self.clauses) > 1

    @property
    def missing(self) -> tuple[str, ...]:
        """The clauses that did not hold."""
        return tuple(c.clause for c in self.clauses if not c.matched)


def _hit_dict(hit: TermHit) -> dict[str, object]:
    return {
        "term": hit.term,
        "field": hit.field,
        "offsets": [list(o) for o in hit.offsets],
        "analyzed": hit.analyzed,
        "words": list(hit.words),
        "weights": list(hit.weights),
    }


def snippet(fields: Sequence[str], clauses: Sequence[ClauseExplanation]) -> Snippet | None:
    """A short passage around the matches, from the field where most clauses matched
    (summary, then content, then title on a tie: the headline is shown anyway). `fields` are
    the title, summary and content."""
    hits = [h for c in clauses for h in c.hits]
    if not hits:
        return None

    def rank(name: str) -> tuple[int, int]:
        clauses_here = sum(1 for c in clauses if any(h.field == name for h in c.hits))
        return clauses_here, ("title", "content", "summary").index(name)

    name = max({h.field for h in hits}, key=rank)
    text = fields[("title", "summary", "content").index(name)]
    spans = _merged(sorted(span for h in hits if h.field == name for span in h.offsets))
    start = max(0, spans[0][0] - 60)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > spans[0][1] else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    highlights = tuple((s + shift, e + shift) for s, e in spans if s >= start and e <= end)
    return Snippet(name, prefix + text[start:end] + suffix, highlights)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans made disjoint: terms overlap ("snap election" and =election, one word
    found by two clauses), and every reader of `highlights` marks each span once, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
