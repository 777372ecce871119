"""How strongly an article states a topic: evidence weighed the way a reader weighs it.

Every mention of a term has a weight from where it stands, whatever the field: the headline
1.0, the first twenty words of the summary 0.9, the lead of the body (its first forty words or
so, about a paragraph) 0.75; further down it fades, to 0.3 late in a long summary and 0.2 deep
in the body. Then, bottom up through the query:

- a term is as strong as its best mention; one more mention of the same term adds a little
  (a quarter of its weight, of what is left), so repeating a word does not make a case;
- alternatives (`a OR b`, a term list) start from their strongest term, and each other term
  stated near it (within 12 words, counting less up to 80 words away, then not at all) makes
  the clause more certain (1 - the product of 1 - each), up to 1.6 times the strongest: several
  different words near each other count more than one word said again, and many words deep in
  the body still make a weak case;
- all-of (`a AND b`, `a NEAR b`) takes the geometric mean of its parts, times how close
  together they stand: 1 when the nearest mentions of each part are within 12 words (the
  headline and the start of the summary read together), fading to 0.7 at 80 words apart.

The score is the root's evidence, 0..1. The geometric mean keeps the scale the same for any
number of clauses: a topic of one clause stated once in a headline scores 1.0, and so does a
topic of three clauses all stated in the headline; one word in passing deep in the body or
late in a long summary stays under 0.5, in a one-clause topic as in a five-clause one. So the
default threshold, 0.5, means the same for every topic: "the article states this".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from itertools import pairwise
from typing import Any, Protocol

from .passing import IN_PASSING, in_passing
from .query import Near, Node, Not, Or, Term
from .scan import Position

TITLE_WEIGHT = 1.0
# (word number, weight) points; linear between them, flat after the last.
SUMMARY_CURVE = ((20, 0.9), (40, 0.55), (80, 0.35), (120, 0.3))
CONTENT_CURVE = ((40, 0.75), (80, 0.45), (150, 0.3), (300, 0.2))
REPEAT = 0.25
POOL_CAP = 1.6
CLOSE, FAR, APART = 12, 80, 0.7


def _curve(points: Sequence[tuple[int, float]], word: int) -> float:
    if word <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if word <= x1:
            return y0 + (y1 - y0) * (word - x0) / (x1 - x0)
    return points[-1][1]


# Weight by word number, looked up rather than computed: scoring is on the hot path.
_TABLES = tuple(
    tuple(_curve(curve, word) for word in range(curve[-1][0] + 1))
    for curve in (((0, TITLE_WEIGHT),), SUMMARY_CURVE, CONTENT_CURVE)
)


def weight(position: Position) -> float:
    """What one mention is worth as evidence, from where it stands."""
    table = _TABLES[position[0]]
    return table[min(position[1], len(table) - 1)]


def mention_weight(scan: Scored, position: Position) -> float:
    """`weight`, times IN_PASSING for a mention in passing ("ahead of the election") in the
    summary or the body. A headline's words are its subject, whatever their grammar
    ("GOP sticks with Trump despite election rout")."""
    start = scan.field_starts[position[0]]
    if position[0] and in_passing(scan.tokens, start + position[1], start):
        return weight(position) * IN_PASSING
    return weight(position)


def term_evidence(scan: Scored, positions: Collection[Position]) -> float:
    """A term's evidence: its best mention, and a little for one more. Weights fall along a
    field, so the first two mentions in each field are taken as the best two (a mention in
    passing among them may hide a plain one further on: the smaller error)."""
    weights = []
    seen = [0, 0, 0]
    tokens, starts = scan.tokens, scan.field_starts
    for position in positions:
        field_index = position[0]
        if seen[field_index] < 2:
            seen[field_index] += 1
            table = _TABLES[field_index]  # `weight` spelled out too
            value = table[min(position[1], len(table) - 1)]
            # `mention_weight` spelled out: this runs for every mention weighed
            if field_index and in_passing(
                tokens, starts[field_index] + position[1], starts[field_index]
            ):
                value *= IN_PASSING
            weights.append(value)
    if len(weights) < 2:
        return weights[0] if weights else 0.0
    weights.sort(reverse=True)
    best = weights[0]
    return best + (1 - best) * REPEAT * weights[1]


class Scored(Protocol):
    """What scorers read from a scanned document: where the summary and the content begin
    on one line of words (title, summary, content), to measure closeness across fields, and
    whether two runs of words are near each other in one sentence."""

    offsets: tuple[int, int, int]
    tokens: list[str]
    field_starts: tuple[int, int, int]

    def near(self, a: Position, b: Position, distance: int) -> bool: ...


Scorer = Callable[[Any, frozenset[Position] | None], tuple[float, list[Position]]]
TermPositions = Callable[[Any], list[Position] | None]


def compile_scorer(node: Node, positions_of: Callable[[Term], TermPositions]) -> Scorer:
    """A function (document, allowed positions) -> (evidence 0..1, the positions it rests
    on) for `node`, built once per topic so that scoring an article is a few closure calls.
    `positions_of(term)` gives a function from a scanned document to the term's positions.
    `allowed`, when given, limits the evidence to those positions (the mentions that made a
    NEAR true)."""
    if isinstance(node, Term):
        get = positions_of(node)

        def term(scan: Scored, allowed: frozenset[Position] | None) -> tuple[float, list]:
            found = _only(get(scan), allowed)
            return term_evidence(scan, found), found

        return term
    if isinstance(node, Not):
        return lambda scan, allowed: (0.0, [])
    if isinstance(node, Or):
        leaves, others = _alternatives(node)
        # terms spelled differently but matched alike (polls, polling) are one term
        getters = list(dict.fromkeys(positions_of(t) for t in leaves))
        scorers = [compile_scorer(c, positions_of) for c in others]

        def alternatives(scan: Scored, allowed: frozenset[Position] | None) -> tuple[float, list]:
            found_terms = []
            for get in getters:
                found = get(scan) if allowed is None else _only(get(scan), allowed)
                if found:
                    found_terms.append((term_evidence(scan, found), found))
            best = pool(found_terms, scan.offsets) if found_terms else 0.0
            positions = [p for _, found in found_terms for p in found]
            for scorer in scorers:
                value, found = scorer(scan, allowed)
                best = max(best, value)
                positions += found
            return best, positions

        return alternatives
    if isinstance(node, Near):
        left, right = (
            compile_scorer(node.left, positions_of),
            compile_scorer(node.right, positions_of),
        )
        distance = node.distance

        def near(scan: Scored, allowed: frozenset[Position] | None) -> tuple[float, list]:
            pairs = [
                (a, b) if a < b else (b, a)
                for a, b in scan.close_pairs(
                    left(scan, allowed)[1], right(scan, allowed)[1], distance
                )
            ]
            if not pairs:
                return 0.0, []
            close = frozenset(p for pair in pairs for p in pair)
            value = math.sqrt(left(scan, close)[0] * right(scan, close)[0])
            # "before nuclear talks resume, Iran ..." or "near Iran ahead of talks": a cue on
            # either word puts the pair in passing
            if all(
                mention_weight(scan, a) < weight(a) or mention_weight(scan, b) < weight(b)
                for a, b in pairs
            ):
                value *= math.sqrt(IN_PASSING)
            return value, list(close)

        return near
    parts = [compile_scorer(c, positions_of) for c in node.children if not isinstance(c, Not)]

    def all_of(scan: Scored, allowed: frozenset[Position] | None) -> tuple[float, list]:
        product, lines = 1.0, []
        for scorer in parts:
            value, found = scorer(scan, allowed)
            if not value:
                return 0.0, []
            product *= value
            lines.append(found)
        mean = product ** (1 / len(parts))
        return mean * together(lines, scan.offsets), [p for found in lines for p in found]

    return all_of


def pool(terms: list[tuple[float, list[Position]]], offsets: tuple[int, int, int]) -> float:
    """Alternatives' evidence: the strongest term, made more certain by each other term
    stated near it (1 - the product of 1 - each, a term counting less the farther it stands,
    nothing from FAR words away), and at most POOL_CAP times the strongest: many words deep
    in the body still make a weak case. A term met only inside words already counted
    ("candidate" within "presidential candidate") is the same evidence, and adds nothing."""
    if len(terms) == 1:
        return terms[0][0]
    terms = sorted(terms, key=lambda t: -t[0])
    best, anchor = terms[0]
    line = sorted(offsets[p[0]] + p[1] for p in anchor)
    covered = _words(anchor, offsets)
    missing = 1 - best
    for value, found in terms[1:]:
        words = _words(found, offsets)
        if words <= covered:
            continue
        covered |= words
        gap = _nearest(sorted(offsets[p[0]] + p[1] for p in found), line)
        if gap < FAR:
            missing *= 1 - value * (1.0 if gap <= CLOSE else (FAR - gap) / (FAR - CLOSE))
    return min(1 - missing, POOL_CAP * best)


def _words(found: list[Position], offsets: tuple[int, int, int]) -> set[int]:
    """The words the mentions cover, numbered along one line (title, summary, content)."""
    return {offsets[p[0]] + word for p in found for word in range(p[1], p[2])}


def together(parts: Sequence[Collection[Position]], offsets: tuple[int, int, int]) -> float:
    """1.0 when each part has a mention within CLOSE words of another part's, fading to
    APART at FAR words; averaged over the parts. `offsets` put the fields on one line."""
    if len(parts) < 2:
        return 1.0
    lines = [sorted([offsets[p[0]] + p[1] for p in part]) for part in parts]
    if len(lines) == 2:
        return _closeness(_nearest(lines[0], lines[1]))
    values = []
    for index, line in enumerate(lines):
        others = sorted(x for j, other in enumerate(lines) if j != index for x in other)
        values.append(_closeness(_nearest(line, others)))
    return sum(values) / len(values)


def _only(found: list[Position] | None, allowed: frozenset[Position] | None) -> list[Position]:
    if not found:
        return []
    return found if allowed is None else [p for p in found if p in allowed]


def _alternatives(node: Or) -> tuple[list[Term], list[Node]]:
    """The terms reachable through nested ORs (pooled), and the other alternatives."""
    leaves: list[Term] = []
    others: list[Node] = []
    for child in node.children:
        if isinstance(child, Term):
            leaves.append(child)
        elif isinstance(child, Or):
            more, rest = _alternatives(child)
            leaves.extend(more)
            others.extend(rest)
        else:
            others.append(child)
    return list(dict.fromkeys(leaves)), others


def _closeness(gap: float) -> float:
    if gap <= CLOSE:
        return 1.0
    return max(APART, 1 - (1 - APART) * (gap - CLOSE) / (FAR - CLOSE))


def _nearest(line: list[int], others: list[int]) -> float:
    """Smallest distance between a point of `line` and a point of `others` (both sorted)."""
    if not line or not others:
        return math.inf
    best, j = math.inf, 0
    for x in line:
        while j + 1 < len(others) and others[j + 1] <= x:
            j += 1
        best = min(best, abs(others[j] - x))
        if j + 1 < len(others):
            best = min(best, abs(others[j + 1] - x))
    return best
