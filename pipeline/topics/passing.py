"""Mentions in passing: a term stated as the background of another story.

"Ahead of next year's election", "amid stalled peace talks", "despite the tariffs", "weeks
after the ceasefire": in a summary or a body the term names the setting, not what the item
reports. Such a mention, with one of these words shortly before it in the same field, is
worth IN_PASSING of its place's weight (`evidence.mention_weight`): a scene-setting clause at
the top of the summary alone stays under the default threshold; other evidence still counts.
Headlines are not discounted: what a headline names is its subject.
"""

from __future__ import annotations

from collections.abc import Sequence

# Folded words that put what follows in the background ("after" and "before" place it in
# time; "amid", "despite", "ahead of" make it the setting).
CUES = frozenset({"ahead", "amid", "amidst", "despite", "since", "before", "after", "following"})
WINDOW = 5  # words before the mention: "ahead of next year's election" (year's is two)
IN_PASSING = 0.5


def in_passing(tokens: Sequence[str], at: int, field_start: int) -> bool:
    """Whether word number `at` of the document (in the field starting at `field_start`)
    follows a background cue closely."""
    return not CUES.isdisjoint(tokens[max(field_start, at - WINDOW) : at])
