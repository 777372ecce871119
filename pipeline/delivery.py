"""When a topic's alerts go out: as they happen (the default), or in a digest on a schedule, and
whether quiet hours hold them. Times are local to the topic's time zone and computed with
zoneinfo from stored instants, so a digest is due at 08:00 local time on both sides of a
daylight-saving change, and a restarted process finds the same slots as the one before it.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MINUTE = re.compile(r"^:([0-5]\d)$")


def clock_time(value: str, key: str = "a time") -> time:
    """ "08:00" -> time(8, 0); anything else (8:00, 24:00, 08:00:00) is an error."""
    match = _CLOCK.match(value)
    if not match:
        raise ValueError(
            f"expected {key} as HH:MM on a 24-hour clock, such as 08:00, got {value!r}"
        )
    return time(int(match.group(1)), int(match.group(2)))


class Rhythm(BaseModel):
    """A topic's `delivery:` block. Every key is optional; the default is today's behaviour:
    each alert as it happens (a burst of more than `slack.digest_after` becomes one digest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["immediate", "digest"] = "immediate"
    # digest only: how often, at what local time ("HH:MM"; ":MM" past each hour for 1h), and
    # on which day for a weekly digest.
    every: Literal["1h", "1d", "1w"] | None = None
    at: str | None = None
    day: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]
    timezone: str = "UTC"
    # immediate only: "22:00-07:00" holds alerts matched in that window until it ends, except
    # urgent ones: all of the topic's (`true`) or those scoring at least this (`0.8`).
    quiet_hours: str | None = None
    urgent: bool | float = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (expected an IANA name such as Europe/London or UTC)"
            ) from None
        return name

    @field_validator("urgent", mode="before")
    @classmethod
    def _flag_or_level(cls, value: object) -> bool | float:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and 0.0 <= value <= 1.0:
            return float(value)
        raise ValueError(f"expected true, false or a score level from 0 to 1, got {value!r}")

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None and not (_MINUTE.match(value) or _CLOCK.match(value)):
            raise ValueError(
                f"expected a local time as HH:MM on a 24-hour clock (such as 08:00), or :MM "
                f"past each hour with every: 1h, got {value!r}"
            )
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is None:
            return None
        start, dash, end = value.partition("-")
        if not dash:
            raise ValueError(f"expected a window such as 22:00-07:00, got {value!r}")
        if clock_time(start.strip(), "its start") == clock_time(end.strip(), "its end"):
            raise ValueError(f"{value!r} starts and ends at the same time")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rhythm:
        if self.mode == "immediate":
            for key in ("every", "at", "day"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} applies to mode: digest (this topic is immediate)")
            return self
        if self.quiet_hours is not None or self.urgent is not False:
            key = "quiet_hours" if self.quiet_hours is not None else "urgent"
            raise ValueError(
                f"{key} applies to mode: immediate (a digest goes out at its `at` time)"
            )
        if self.day is not None and self.period != "1w":
            raise ValueError("day applies to every: 1w")
        hourly = self.period == "1h"
        if self.at is not None and hourly != bool(_MINUTE.match(self.at)):
            expected = "the minute past each hour, :MM" if hourly else "a local time, HH:MM"
            raise ValueError(f"at: with every: {self.period}, expected {expected}, got {self.at!r}")
        return self

    @property
    def period(self) -> str:
        return self.every or "1d"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_digest(self) -> bool:
        return self.mode == "digest"

    def describe(self) -> str:
        """ "daily at 08:00 Europe/London", for messages and listings."""
        if not self.is_digest:
            quiet = f", quiet {self.quiet_hours} {self.timezone}" if self.quiet_hours else ""
            return f"immediate{quiet}"
        if self.period == "1h":
            return f"hourly at {self._at()} past the hour"
        when = f"{self._at()} {self.timezone}"
        if self.period == "1w":
            return f"weekly on {(self.day or 'monday').title()} at {when}"
        return f"daily at {when}"

    def _at(self) -> str:
        return self.at or (":00" if self.period == "1h" else "08:00")

    # Cached: a drain asks the same question for every match of a batch (same topic, moment).
    @functools.lru_cache(maxsize=4096)  # noqa: B019 (rhythms are few and live as long as config)
    def next_slot(self, after: datetime) -> datetime:
        """The first digest time strictly after `after` (UTC). Days are counted in local
        dates, so a slot in an hour that occurs twice (autumn) is taken once, at its first
        occurrence, and one in an hour that does not exist (spring) falls an hour later."""
        if self.period == "1h":
            return _next_minute_past(after, int(self._at()[1:]), self.zone)
        at = clock_time(self._at())
        zone = self.zone
        start = after.astimezone(zone).date() - timedelta(days=1)
        weekday = WEEKDAYS.index(self.day or "monday")
        for offset in range(16):
            day = start + timedelta(days=offset)
            if self.period == "1w" and day.weekday() != weekday:
                continue
            slot = _instant(day, at, zone)
            if slot > after:
                return slot
        raise AssertionError("a weekly slot always falls within 16 days")

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def quiet_until(self, moment: datetime) -> datetime | None:
        """When the quiet hours around `moment` end (UTC), or None outside them."""
        if self.quiet_hours is None:
            return None
        start_text, _, end_text = self.quiet_hours.partition("-")
        start, end = clock_time(start_text.strip()), clock_time(end_text.strip())
        zone = self.zone
        today = moment.astimezone(zone).date()
        for day in (today - timedelta(days=1), today):
            begins = _instant(day, start, zone)
            ends = _instant(day + timedelta(days=1) if end <= start else day, end, zone)
            if begins <= moment < ends:
                return ends
        return None

    def breaks_through(self, score: float) -> bool:
        """An urgent alert goes out in quiet hours."""
        if isinstance(self.urgent, bool):
            return self.urgent
        return score >= self.urgent


IMMEDIATE = Rhythm()


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _next_minute_past(after: datetime, minute: int, zone: ZoneInfo) -> datetime:
    """The first instant after `after` whose local clock shows `minute` past an hour (zones
    with half-hour offsets included)."""
    hour = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    for offset in range(-1, 3):
        start = hour + timedelta(hours=offset)
        shift = int(start.astimezone(zone).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        slot = start + timedelta(minutes=(minute - shift) % 60)
        if slot > after:
            return slot
    raise AssertionError("an hourly slot always falls within two hours")
