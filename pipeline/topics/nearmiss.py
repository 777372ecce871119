"""Near misses: what a topic almost caught, and what it lacked.

A user who wonders what a topic is missing looks at the articles it nearly took:

- **missing clause**: every part of an all-of but one held: the clauses of a query joined by
  AND, or of one alternative of a query joined by OR, or the two sides of a NEAR (and when both
  sides held but too far apart, that is what was missing), e.g. a defence minister named but
  no meeting;
- **under threshold**: the query held but the score fell short, by at most `margin`;
- **excluded**: the query held and scored, but the exclusion vetoed it.

Each comes with what was missing and a `promise`, 0..1, to rank them: how close the evidence
came to the threshold (for a missing clause, the evidence of the parts that held, scaled by the
share of parts that held).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from .matcher import Document, Match, Matcher
from .query import And, Near, Node, Or
from .topic import Topic

NEAR_MISS_MARGIN = 0.15


class MissKind(StrEnum):
    MISSING_CLAUSE = "missing clause"
    UNDER_THRESHOLD = "under threshold"
    EXCLUDED = "excluded"


@dataclass(frozen=True, slots=True)
class NearMiss:
    kind: MissKind
    match: Match  # the topic's full verdict, explained: score, clauses, evidence, snippet
    missing: tuple[str, ...]  # the clause that did not hold, or what the exclusion found
    promise: float  # 0..1, higher is closer to passing

    @property
    def why(self) -> str:
        """What was missing, in a line: `missing clause: @defence_officials`."""
        if self.kind is MissKind.UNDER_THRESHOLD:
            detail = f"score {self.match.score:.2f} < {self.match.topic.threshold}"
        else:
            detail = ", ".join(self.missing)
        return f"{self.kind}: {detail}"


class NearMisses:
    """Finds one topic's near misses, document by document. The topic is looked at as if it
    were enabled; its all-of parts are compiled once, beside it."""

    def __init__(self, topic: Topic, *, margin: float = NEAR_MISS_MARGIN) -> None:
        self.topic = replace(topic, enabled=True)
        self.margin = margin
        self.matcher = Matcher([self.topic])
        # (id, node it stands for) for every all-of in the query: its parts, as an AND
        self._shapes: list[tuple[str, Node]] = [
            (f"{topic.id}#{i}", node) for i, node in enumerate(_all_ofs(self.topic.query))
        ]
        self._shape_matcher = Matcher(
            [
                Topic(shape, shape, _as_and(node), threshold=self.topic.threshold)
                for shape, node in self._shapes
            ]
        )

    def __call__(self, document: Document) -> NearMiss | None:
        """The topic's near miss on `document`, or None when it passed or was nowhere near."""
        match = self.matcher.explain_mentioned(self.topic.id, document)
        if match is None or match.passed or match.explanation is None:
            return None
        threshold = self.topic.threshold
        if not match.query_holds:
            best: tuple[float, tuple[str, ...]] | None = None
            for shape, node in self._shapes:
                found = self._missing(shape, node, document)
                if found is not None and (best is None or found[0] > best[0]):
                    best = found
            if best is None:
                return None
            return NearMiss(MissKind.MISSING_CLAUSE, match, best[1], round(best[0], 3))
        if match.score < threshold - self.margin:
            return None
        promise = round(min(1.0, match.score / threshold), 3) if threshold else 1.0
        if not match.matched:
            hits = match.explanation.excluded_by
            found = tuple(dict.fromkeys(f"{h.term} ({h.field})" for h in hits))
            return NearMiss(MissKind.EXCLUDED, match, found, promise)
        return NearMiss(MissKind.UNDER_THRESHOLD, match, (), promise)

    def _missing(
        self, shape: str, node: Node, document: Document
    ) -> tuple[float, tuple[str, ...]] | None:
        """(promise, what was missing) when all parts of this all-of but one held."""
        parts = self._shape_matcher.explain_mentioned(shape, document)
        if parts is None or parts.explanation is None:
            return None
        clauses = parts.explanation.clauses
        held = [c.evidence for c in clauses if c.matched and c.hits]
        if not held:  # only a NOT part held: nothing of the topic was there
            return None
        missing = parts.explanation.missing
        if not missing and isinstance(node, Near):  # both sides, but too far apart
            missing, share = (f"{node} (too far apart)",), 1.0
        elif len(missing) == 1:
            share = (len(clauses) - 1) / len(clauses)
        else:
            return None
        partial = math.prod(held) ** (1 / len(held))
        threshold = self.topic.threshold
        return (min(1.0, partial / threshold) if threshold else 1.0) * share, missing


def near_miss(
    topic: Topic, document: Document, *, margin: float = NEAR_MISS_MARGIN
) -> NearMiss | None:
    """One document's near miss for `topic` (to look at many, build `NearMisses` once)."""
    return NearMisses(topic, margin=margin)(document)


def _all_ofs(node: Node) -> list[Node]:
    """The all-of nodes whose parts can be missed one at a time: an AND or NEAR at the top, or
    as an alternative of an OR at the top."""
    if isinstance(node, And | Near):
        return [node]
    if isinstance(node, Or):
        return [c for c in node.children if isinstance(c, And | Near)]
    return []


def _as_and(node: Node) -> Node:
    return And((node.left, node.right)) if isinstance(node, Near) else node
