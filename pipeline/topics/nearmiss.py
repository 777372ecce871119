"""Near misses: what a topic almost caught, and what it lacked.

A user who wonders what a topic is missing looks at the articles it nearly took:

- **missing clause**: every clause of the query held but one (for a query of two or more
  clauses joined by AND), e.g. a defence minister named, but no meeting;
- **under threshold**: the query held but the score fell short, by at most `margin`;
- **excluded**: the query held and scored, but the exclusion vetoed it.

Each comes with what was missing and a `promise`, 0..1, to rank them: how close the evidence
came to the threshold (for a missing clause, the evidence of the clauses that held, scaled by
the share of clauses that held).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from .matcher import Document, Match, Matcher

NEAR_MISS_MARGIN = 0.15


class MissKind(StrEnum):
    MISSING_CLAUSE = "missing clause"
    UNDER_THRESHOLD = "under threshold"
    EXCLUDED = "excluded"


@dataclass(frozen=True, slots=True)
class NearMiss:
    kind: MissKind
    match: Match  # the full verdict, explained: score, clauses and their evidence, snippet
    missing: tuple[str, ...]  # the clause that did not hold, or what the exclusion found
    promise: float  # 0..1, higher is closer to passing

    @property
    def why(self) -> str:
        """What was missing, in a line: `missing clause: @defence_offices`."""
        if self.kind is MissKind.UNDER_THRESHOLD:
            detail = f"score {self.match.score:.2f} < {self.match.topic.threshold}"
        else:
            detail = ", ".join(self.missing)
        return f"{self.kind}: {detail}"


def near_miss(
    matcher: Matcher, topic_id: str, document: Document, *, margin: float = NEAR_MISS_MARGIN
) -> NearMiss | None:
    """The topic's near miss on `document`, or None when it passed or was nowhere near."""
    match = matcher.explain_mentioned(topic_id, document)
    if match is None or match.passed or match.explanation is None:
        return None
    explanation = match.explanation
    threshold = match.topic.threshold
    if not match.query_holds:
        missing = explanation.missing
        if len(explanation.clauses) < 2 or len(missing) != 1:
            return None
        held = [c.evidence for c in explanation.clauses if c.matched and c.hits]
        if not held:  # only a NOT clause held: nothing of the topic was there
            return None
        partial = math.prod(held) ** (1 / len(held))
        share = (len(explanation.clauses) - 1) / len(explanation.clauses)
        promise = min(1.0, partial / threshold) * share
        return NearMiss(MissKind.MISSING_CLAUSE, match, missing, round(promise, 3))
    if match.score < threshold - margin:
        return None
    promise = round(min(1.0, match.score / threshold), 3) if threshold else 1.0
    if not match.matched:
        found = tuple(dict.fromkeys(f"{h.term} ({h.field})" for h in explanation.excluded_by))
        return NearMiss(MissKind.EXCLUDED, match, found, promise)
    return NearMiss(MissKind.UNDER_THRESHOLD, match, (), promise)
