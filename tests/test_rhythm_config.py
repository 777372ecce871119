"""The `delivery:` block of a topic: strict one-line errors naming the key path, and the slot and
quiet-hour arithmetic in local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.config import load_config
from pipeline.delivery import Rhythm
from tests.test_config import error_for, write

TOPIC = "topics:\n  - {id: defence, name: Defence, query: defence, delivery: {%s}}\n"


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        (
            "mode: digest, timezone: Europe/Lndon",
            "topics[0].delivery.timezone: unknown time zone 'Europe/Lndon' (expected an IANA "
            "name such as Europe/London or UTC)",
        ),
        ("mode: digest, at: '8:00'", "topics[0].delivery.at: expected a local time as HH:MM"),
        ("mode: digest, at: '24:00'", "topics[0].delivery.at: expected a local time as HH:MM"),
        ("mode: digest, every: 2d", "topics[0].delivery.every: Input should be '1h', '1d' or"),
        ("mode: weekly", "topics[0].delivery.mode: Input should be 'immediate' or 'digest'"),
        ("quiet: 22:00-07:00", "topics[0].delivery.quiet: unknown key (expected one of: mode,"),
        ("quiet_hours: '22:00'", "topics[0].delivery.quiet_hours: expected a window such as"),
        ("quiet_hours: '22:00-25:00'", "topics[0].delivery.quiet_hours: expected its end as"),
        ("urgent: 1.5", "topics[0].delivery.urgent"),
        ("at: '08:00'", "topics[0].delivery: at applies to mode: digest (this topic is"),
        ("mode: digest, quiet_hours: 22:00-07:00", "quiet_hours applies to mode: immediate"),
        ("mode: digest, every: 1h, at: '08:00'", "at: with every: 1h, expected the minute"),
        ("mode: digest, day: friday", "topics[0].delivery: day applies to every: 1w"),
    ],
)
def test_a_bad_delivery_is_one_line_naming_the_key(tmp_path, delivery, expected):
    message = error_for(tmp_path, TOPIC % delivery)
    assert expected in message and "\n" not in message


def test_delivery_and_ops_channel_load(tmp_path):
    text = TOPIC % "mode: digest, every: 1w, day: monday, at: '07:30', timezone: Europe/Paris"
    config = load_config(write(tmp_path, text + "slack: {ops_channel: '#newswatch-ops'}\n")).config
    rhythm = config.topics[0].delivery
    assert rhythm.describe() == "weekly on Monday at 07:30 Europe/Paris"
    assert config.slack.ops_channel == "#newswatch-ops"
    assert load_config(write(tmp_path, TOPIC % "")).config.topics[0].delivery == Rhythm()


def test_urgent_is_a_flag_or_a_score_level():
    level = Rhythm(quiet_hours="22:00-07:00", urgent=0.8)
    assert level.breaks_through(0.8) and not level.breaks_through(0.79)
    assert Rhythm(quiet_hours="22:00-07:00", urgent=True).breaks_through(0.1)
    assert not Rhythm(quiet_hours="22:00-07:00").breaks_through(1.0)


@pytest.mark.parametrize(
    ("after", "slot"),
    [
        ("2026-03-28 07:59", "2026-03-28 08:00"),  # GMT
        ("2026-03-28 08:00", "2026-03-29 07:00"),  # the next is in BST
        ("2026-10-24 08:00", "2026-10-25 08:00"),  # back to GMT
        ("2026-10-25 00:30", "2026-10-25 08:00"),
    ],
)
def test_daily_slots_are_local_eight_o_clock(after, slot):
    rhythm = Rhythm(mode="digest", at="08:00", timezone="Europe/London")
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert rhythm.next_slot(moment) == datetime.fromisoformat(slot).replace(tzinfo=UTC)


def test_a_slot_in_the_hour_that_repeats_is_taken_once():
    # 01:30 happens twice in London on 25 October 2026 (00:30 and 01:30 UTC).
    rhythm = Rhythm(mode="digest", at="01:30", timezone="Europe/London")
    first = rhythm.next_slot(datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert rhythm.next_slot(first) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_hourly_slots_follow_half_hour_zones():
    rhythm = Rhythm(mode="digest", every="1h", at=":15", timezone="Asia/Kolkata")
    after = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert rhythm.next_slot(after) == datetime(2026, 1, 1, 10, 45, tzinfo=UTC)
