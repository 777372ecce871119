"""A rhythm: the typical gap between a subject's events, read from its latest ones.

The median gap is robust: one long holiday or one burst of ten items does not move it. Events
in the same minute count once (a feed that dates a batch of items alike, or duplicates).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise


def typical_gap(times: Iterable[datetime], min_history: int) -> timedelta | None:
    """The median gap between distinct minutes of `times`; None with fewer than `min_history`
    distinct minutes (too little to know the rhythm) or when they all fall in one minute."""
    minutes = sorted({t.replace(second=0, microsecond=0) for t in times})
    if len(minutes) < max(min_history, 2):
        return None
    return statistics.median(later - earlier for earlier, later in pairwise(minutes))


def span(delta: timedelta) -> str:
    """A duration for people: "3d 4h", "6h", "45m", "20s"."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def every(gap: timedelta) -> str:
    """ "usually every 6h" """
    return f"usually every {span(gap)}"
