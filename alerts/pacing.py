"""How fast a drain may post to each Slack channel."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class Pacer:
    """When the next message may go to each channel: `interval` seconds after the last one, and
    not before a Retry-After Slack gave for it has run out."""

    def __init__(self, interval: float, now: Callable[[], datetime]) -> None:
        self.interval = interval
        self.now = now
        self.last: dict[str, float] = {}
        self.limited_until: dict[str, datetime] = {}

    def wait(self, key: str) -> float:
        """Seconds to wait before the next message to `key`."""
        remaining = 0.0
        if key in self.last:
            remaining = self.interval - (time.monotonic() - self.last[key])
        if key in self.limited_until:
            remaining = max(remaining, (self.limited_until[key] - self.now()).total_seconds())
        return max(0.0, remaining)

    def held(self, key: str) -> float:
        """Seconds left of a Retry-After Slack gave for `key` (0 when there is none)."""
        until = self.limited_until.get(key)
        return max(0.0, (until - self.now()).total_seconds()) if until else 0.0

    def waited(self, key: str) -> None:
        """The caller slept `wait(key)`: a Retry-After that was waited out is over."""
        self.limited_until.pop(key, None)

    def sent(self, key: str) -> None:
        self.last[key] = time.monotonic()

    def limit(self, key: str, seconds: float) -> None:
        until = self.now() + timedelta(seconds=seconds)
        self.limited_until[key] = max(until, self.limited_until.get(key, until))
