"""Slack messages: escaping, links, dates, and Slack's limits at their edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.message import escape, link, render_alert, render_digest, slack_date
from alerts.records import Alert
from tests.fake_slack import block_kit_violations


def alert(
    i: int = 1,
    *,
    title: str = "Defence Secretary meets counterpart",
    url="https://x.example/a",
    topic: str = "Defence meetings",
    snippet: str = "The defence secretary met his counterpart.",
    feed: str = "Wire",
) -> Alert:
    return Alert(
        id=i,
        topic_id="defence",
        topic_name=topic,
        destination="slack:#d",
        attempts=0,
        origin="live",
        created_at=datetime.now(UTC),
        title=title,
        url=url,
        feed_name=feed,
        published_at=datetime(2025, 7, 23, 16, 50, tzinfo=UTC),
        published_at_missing=False,
        score=0.85,
        explanation={
            "clauses": [
                {
                    "clause": "x",
                    "matched": True,
                    "hits": [
                        {"term": '"defence secretary"', "field": "summary", "offsets": [[4, 21]]}
                    ],
                }
            ],
            "snippet": {"field": "summary", "text": snippet, "highlights": [[4, 21]]},
        },
    )


def payload(message):
    return {"text": message.text, "blocks": message.blocks}


def test_escape_is_exactly_slacks_three_characters():
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("<!here> <@U1> <#C1>") == "&lt;!here&gt; &lt;@U1&gt; &lt;#C1&gt;"


def test_links_only_for_http_and_never_broken_by_the_url():
    assert link("https://x.example/a?b=1&c=2", "T") == "<https://x.example/a?b=1&amp;c=2|T>"
    assert link("https://x.example/a|b>c", "T") == "<https://x.example/a%7Cb%3Ec|T>"
    assert link("javascript:alert(1)", "T <b>") == "T &lt;b&gt;"
    assert link(None, "T") == "T"


def test_dates_use_slack_formatting_with_a_utc_fallback():
    moment = datetime(2025, 7, 23, 16, 50, tzinfo=UTC)
    assert (
        slack_date(moment)
        == f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|2025-07-23 16:50 UTC>"
    )
    assert slack_date(moment, missing=True).endswith("(fetched; no date in the feed)")


def test_an_alert_message_is_valid_block_kit():
    message = render_alert(alert())
    assert block_kit_violations(payload(message)) == []
    assert [b["type"] for b in message.blocks] == [
        "header",
        "section",
        "context",
        "section",
        "actions",
    ]
    assert message.metadata == {
        "event_type": "newswatch_alert",
        "event_payload": {"alert_ids": [1]},
    }
    assert "> The *defence secretary* met his counterpart." in message.blocks[3]["text"]["text"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "Very long headline " * 500},
        {"topic": "A topic name far longer than a Slack header allows " * 10},
        {"snippet": "word & " * 2000},
        {"feed": "F" * 5000},
        {"title": "&" * 4000},
        {"title": "", "url": None},
    ],
)
def test_limits_hold_for_extreme_inputs(kwargs):
    message = render_alert(alert(**kwargs))
    assert block_kit_violations(payload(message)) == []
    for block in message.blocks:
        text = block.get("text", {}).get("text", "")
        assert not text.rstrip("…").endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))


def test_a_digest_of_200_alerts_stays_within_the_limits():
    alerts = [alert(i, title=f"Headline number {i} " * 10) for i in range(200)]
    message = render_digest("Defence meetings", alerts)
    assert block_kit_violations(payload(message)) == []
    assert len(message.blocks) <= 50 and message.alert_ids == tuple(range(200))
    text = str(message.blocks)
    assert "Defence meetings: 200 new matches" in text and "…and 160 more" in text


def test_a_hostile_digest_line_is_escaped():
    message = render_digest("T", [alert(1, title="<!channel> win"), alert(2, title="b")])
    assert "<!channel>" not in str(message.blocks) + message.text
    assert "&lt;!channel&gt; win" in str(message.blocks)


def test_feed_text_loses_controls_bidi_overrides_and_slack_formatting():
    title = "Pay \u202egnp.exe\u202c *now* _quick_ ~gone~ `x` \x07\x1b[31m defence"
    snippet = "The defence secretary met \u2066*him*\u2069 ~today~\nline two"
    message = render_alert(alert(title=title, snippet=snippet, feed="Wire \u200f*desk*"))
    everything = str(message.blocks) + message.text
    for character in ("\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "\x07", "\x1b", "\n"):
        assert character not in everything.replace("\\n", "").replace("\n", ""), repr(character)
    # the feed's own formatting characters are look-alikes that format nothing ...
    assert "∗now∗ ˍquickˍ ∼gone∼ ˋxˋ" in everything and "*now*" not in everything
    assert "Wire ∗desk∗" in everything and "∼today∼" in everything
    # ... while newswatch's own formatting stays: the bold title link, the why, the highlight
    assert message.blocks[1]["text"]["text"].startswith("*<https://x.example/a|Pay ")
    why = message.blocks[3]["text"]["text"]
    assert why.startswith("*Why:* `") and "> The *defence secretary* met ∗him∗" in why
    assert "\n" not in why.split("\n", 1)[1], "a feed's line break cannot start a fake line"
    assert all(
        text.get("verbatim") is True
        for block in message.blocks
        for text in [block.get("text", {}), *block.get("elements", [])]
        if text.get("type") == "mrkdwn"
    )
    assert block_kit_violations(payload(message)) == []


def test_every_alert_and_digest_carries_the_feedback_buttons():
    single = render_alert(alert(7), web_url="https://news.example")
    digest = render_digest("T", [alert(i) for i in range(3)], web_url="https://news.example")
    for message, value, url in (
        (single, "7", "https://news.example/alerts/7"),
        (digest, "0,1,2", "https://news.example/topics/defence"),
    ):
        (actions,) = [b for b in message.blocks if b["type"] == "actions"]
        buttons = {e["action_id"]: e for e in actions["elements"]}
        assert [e["text"]["text"] for e in actions["elements"]] == [
            "Relevant",
            "Not relevant",
            "Mute this story",
            "Open in newswatch",
        ]
        assert {e["value"] for e in actions["elements"]} == {value}
        assert buttons["newswatch_open"]["url"] == url
        assert block_kit_violations(payload(message)) == []
    # Without a public address for the pages there is nowhere to open.
    plain = render_alert(alert(7))
    assert [e["action_id"] for e in plain.blocks[-1]["elements"]] == [
        "newswatch_relevant",
        "newswatch_not_relevant",
        "newswatch_mute",
    ]
