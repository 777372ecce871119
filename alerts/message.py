"""Slack messages for alerts: Block Kit plus a plain-text fallback.

Feed text is untrusted. Everything taken from a feed goes through `feed_text`: control and
bidirectional-formatting characters are removed, Slack's formatting characters (* _ ~ `) become
look-alikes that format nothing, and & < > become entities, so a title can never produce
`<!channel>`, a user mention, a disguised link, or bold text that was not a match; the only
control sequences and formatting in a message are the ones built here. Text objects are
`verbatim`, so Slack does not turn names in feed text into channel links or mentions. Slack's
documented limits are applied by truncating at a word boundary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from pipeline.text import printable, truncate

from .records import Alert, SlackMessage

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}…$")
HEADER_LIMIT = 150  # plain_text in a header block
SECTION_LIMIT = 3000  # mrkdwn text in a section block
CONTEXT_LIMIT = 2000  # one text element in a context block
BLOCK_LIMIT = 50  # blocks in one message
FALLBACK_LIMIT = 3000  # the top-level text; Slack truncates past 40,000 but notifications are short
DIGEST_ITEMS = 40  # articles listed in one digest before "and N more"
DIGEST_STORIES = 10  # stories shown in full (with their why) in a scheduled digest
ACTIONS_BLOCK = "newswatch_actions"  # the buttons; the interactivity handler looks for these ids
FEEDBACK_BLOCK = "newswatch_feedback"  # where a click's outcome is shown ("Marked ... by @ana")
BUTTON_VALUE_LIMIT = 2000


# Slack has no escape for its formatting characters; in feed text they become look-alikes.
_FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_LINE_BREAKS = re.compile(r"[\t\n\u2028\u2029]")


def escape(text: str) -> str:
    """Slack's three control characters as entities: the whole of Slack's escaping rules."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def feed_text(text: str) -> str:
    """Text from a feed, made inert for mrkdwn: no control or bidi characters, no line breaks
    (which could start a fake line), formatting characters neutralised, and escaped."""
    return escape(_LINE_BREAKS.sub(" ", printable(text)).translate(_FORMATTING))


def link(url: str | None, label: str) -> str:
    """`<url|label>` for an http(s) URL, else the label (feed text) alone."""
    text = feed_text(label)
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return text
    # | and > would end the URL part early; percent-encode them, and whitespace too.
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{escape(safe_url)}|{text}>"


def slack_date(moment: datetime, missing: bool = False) -> str:
    """Slack's date formatting (shown in the reader's time zone) with a UTC fallback."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    return f"{shown} (fetched; no date in the feed)" if missing else shown


def source(alert: Alert) -> str:
    domain = urlsplit(alert.url).hostname if alert.url else None
    name = feed_text(alert.feed_name)
    return f"{name} ({feed_text(domain.removeprefix('www.'))})" if domain else name


def why(explanation: dict[str, Any]) -> str:
    """Matched terms and the highlighted snippet, as mrkdwn."""
    terms = dict.fromkeys(h["term"] for c in explanation.get("clauses", ()) for h in c["hits"])
    lines = []
    if terms:
        lines.append("*Why:* " + ", ".join(f"`{escape(t)}`" for t in terms))
    snippet = explanation.get("snippet")
    if snippet:
        text, marked, last = snippet["text"], [], 0
        for start, end in snippet["highlights"]:
            if start < last:
                continue
            marked += [feed_text(text[last:start]), "*", feed_text(text[start:end]), "*"]
            last = end
        marked.append(feed_text(text[last:]))
        lines.append("> " + "".join(marked))
    return "\n".join(lines)


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, limit), "verbatim": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text, SECTION_LIMIT)}


def fit(text: str, limit: int) -> str:
    """Truncate mrkdwn without leaving half an entity ("&am") at the end."""
    return _PARTIAL_ENTITY.sub("…", truncate(text, limit))


def actions(alert_ids: list[int], open_url: str | None) -> dict[str, Any]:
    """The feedback buttons. Their value names the alerts (a digest too long for a button's
    value leaves it empty: the handler then finds the alerts by the message's ts)."""
    value = ",".join(str(i) for i in alert_ids)
    value = value if len(value) <= BUTTON_VALUE_LIMIT else ""
    buttons: list[dict[str, Any]] = [
        _button("relevant", "Relevant", value, style="primary"),
        _button("not_relevant", "Not relevant", value),
        _button("mute", "Mute this story", value),
    ]
    if open_url:
        buttons.append({**_button("open", "Open in newswatch", value), "url": open_url})
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons}


def _button(action: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {
        "type": "button",
        "action_id": f"newswatch_{action}",
        "text": {"type": "plain_text", "text": text, "emoji": False},
        "value": value,
    }
    return {**button, "style": style} if style else button


def render_alert(alert: Alert, *, web_url: str | None = None) -> SlackMessage:
    title = alert.title or "(untitled)"
    blocks: list[dict[str, Any]] = [
        header(alert.topic_name),
        section(f"*{link(alert.url, truncate(title, 500))}*"),
        context(_byline(alert)),
    ]
    reason = why(alert.explanation)
    if reason:
        blocks.append(section(reason))
    if alert.also_reported_by:
        blocks.append(context(also_reported_by(alert.also_reported_by)))
    blocks.append(actions([alert.id], f"{web_url}/alerts/{alert.id}" if web_url else None))
    fallback = f"[{escape(alert.topic_name)}] {feed_text(title)} ({feed_text(alert.feed_name)})"
    return SlackMessage(fit(fallback, FALLBACK_LIMIT), blocks, (alert.id,))


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, HEADER_LIMIT), "emoji": False},
    }


def _byline(alert: Alert) -> str:
    """Where and when the article ran, and its score: "outlet · date · score 0.82"."""
    return (
        f"{source(alert)} · {slack_date(alert.published_at, alert.published_at_missing)} · "
        f"score {alert.score:.2f}"
    )


def _topic_page(alerts: list[Alert], web_url: str | None) -> str | None:
    """The topic's page, where a digest's articles are judged one by one."""
    return f"{web_url}/topics/{quote(alerts[0].topic_id)}" if web_url and alerts else None


def also_reported_by(copies: tuple[dict[str, Any], ...]) -> str:
    outlets = [link(c.get("url"), c.get("feed") or "?") for c in copies]
    return f"Also reported by {len(outlets)} more outlet(s): " + ", ".join(outlets)


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text, CONTEXT_LIMIT)]}


def render_follow_up(alert: Alert) -> SlackMessage:
    """A thread reply under a sent alert: the outlets that have run the story since."""
    latest = alert.also_reported_by[-1]
    text = (
        f"Also reported by {link(latest.get('url'), latest.get('feed') or '?')}: "
        f"{feed_text(truncate(latest.get('title') or '', 300))} "
        f"({len(alert.also_reported_by) + 1} outlets so far)"
    )
    return SlackMessage(fit(text, FALLBACK_LIMIT), [section(text)], (alert.id,))


def render_digest(
    topic_name: str, alerts: list[Alert], *, history: bool = False, web_url: str | None = None
) -> SlackMessage:
    """One message for a burst (or a backfill's history): a line per article, newest first,
    within the block limits. Its buttons judge every article listed; "Open in newswatch"
    leads to the topic's page, to judge them one by one."""
    ordered = sorted(alerts, key=lambda a: a.published_at, reverse=True)
    what = "matches in backfilled history" if history else "new matches"
    title = f"{topic_name}: {len(alerts)} {what}"
    blocks: list[dict[str, Any]] = [header(title)]
    lines = [
        f"• *{link(a.url, truncate(a.title or '(untitled)', 200))}* · {source(a)} · "
        f"{slack_date(a.published_at, a.published_at_missing)} · {a.score:.2f}"
        for a in ordered[:DIGEST_ITEMS]
    ]
    chunk: list[str] = []
    for line in lines:  # pack lines into sections of at most SECTION_LIMIT characters
        if chunk and len("\n".join([*chunk, line])) > SECTION_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if len(ordered) > DIGEST_ITEMS:
        more = len(ordered) - DIGEST_ITEMS
        blocks.append(context(f"…and {more} more"))
    # Room for the buttons and, once someone clicks, the line saying what they did.
    blocks = blocks[: BLOCK_LIMIT - 2]
    blocks.append(actions([a.id for a in alerts], _topic_page(alerts, web_url)))
    titles = "; ".join(feed_text(a.title) for a in ordered[:5])
    fallback = f"[{escape(topic_name)}] {len(alerts)} {what}: {titles}"
    return SlackMessage(fit(fallback, FALLBACK_LIMIT), blocks, tuple(a.id for a in alerts))


def render_scheduled_digest(
    topic_name: str, alerts: list[Alert], *, rhythm: str, web_url: str | None = None
) -> SlackMessage:
    """A topic's scheduled digest: its stories best first (score, then newest), each with its
    why and a link to every article that ran it, then how many more there were. It carries
    every alert's id, shown or counted, so each one is accounted for by this message."""
    ordered = sorted(alerts, key=lambda a: (-a.score, -a.published_at.timestamp(), a.id))
    shown = ordered[:DIGEST_STORIES]
    title = f"{topic_name}: {len(alerts)} {'story' if len(alerts) == 1 else 'stories'} ({rhythm})"
    blocks: list[dict[str, Any]] = [header(title)]
    for rank, alert in enumerate(shown, 1):
        lines = [
            f"{rank}. *{link(alert.url, truncate(alert.title or '(untitled)', 300))}*",
            _byline(alert),
        ]
        reason = why(alert.explanation)
        if reason:
            lines.append(reason)
        blocks.append(section("\n".join(lines)))
        if alert.also_reported_by:
            blocks.append(context(also_reported_by(alert.also_reported_by)))
    rest = len(ordered) - len(shown)
    if rest:
        blocks.append(context(f"…and {rest} more {'story' if rest == 1 else 'stories'}"))
    blocks.append(actions([a.id for a in alerts], _topic_page(alerts, web_url)))
    titles = "; ".join(feed_text(a.title) for a in shown[:5])
    fallback = f"[{escape(topic_name)}] {len(alerts)} stories ({escape(rhythm)}): {titles}"
    return SlackMessage(fit(fallback, FALLBACK_LIMIT), blocks, tuple(a.id for a in alerts))
