"""Mentions in passing: a term stated as the background of another story.

"Ahead of next year's election", "amid stalled peace talks", "despite the tariffs", "weeks
after the ceasefire", "the day before talks resume": in a summary or a body the term names
the setting, not what the item reports. Such a mention, with one of these words shortly
before it in the same field, is worth IN_PASSING of its place's weight
(`evidence.mention_weight`): a scene-setting clause at the top of the summary alone stays
under the default threshold; other evidence still counts. Headlines are not discounted: what
a headline names is its subject."""

from __future__ import annotations

from collections.abc import Sequence

# Folded words that make what follows the setting of another story.
CUES = frozenset({"ahead", "amid", "amidst", "despite", "since"})
# Words that do so only after a span of time: "years after the peace accord", "the day before
# talks resume" set the scene, but "agreed after talks" reports the talks' outcome.
TIMED_CUES = frozenset({"after", "before", "following"})
SPANS = frozenset(
    {"day", "days", "week", "weeks", "month", "months", "year", "years", "decade", "decades"}
    | {"hours", "shortly", "soon", "long", "just", "weekend"}
)
WINDOW = 5  # words before the mention: "ahead of next year's election" (year's is two)
IN_PASSING = 0.5


ANY_CUE = CUES | TIMED_CUES


def in_passing(tokens: Sequence[str], at: int, field_start: int) -> bool:
    """Whether word number `at` of the document (in the field starting at `field_start`)
    follows a background cue closely. Called for every mention weighed: one slice and one
    set test in C for the mentions with no cue before them, nearly all."""
    first = max(field_start, at - WINDOW)
    window = tokens[first:at]
    if ANY_CUE.isdisjoint(window):
        return False
    if not CUES.isdisjoint(window):
        return True
    return any(
        word in TIMED_CUES and index + first > field_start and tokens[index + first - 1] in SPANS
        for index, word in enumerate(window)
    )
