"""Health commands: `feeds` (each feed's state, why and since when) and `health` (the
problems: stale, stuck, failing, moved feeds and silent topics)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from .app import ConfigOption, DatabaseOption, VerboseOption, app, handles_errors, load, out, styled

if TYPE_CHECKING:
    from .. import store
    from ..health import HealthReport, Problem

STYLES = {
    "ok": "green",
    "learning": "cyan",
    "new": "cyan",
    "moved": "yellow",
    "stale": "yellow",
    "silent": "yellow",
    "stuck": "red",
    "failing": "red",
}


COLUMNS = ("feed", "state", "since", "why", "last status", "next fetch", "articles", "last error")


@app.command("feeds")
@handles_errors
def feeds_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Show each configured feed's state (by its own rhythm), why, and since when."""
    from .. import store
    from ..health import check_health

    settings, engine = load(config, database_url, verbose)
    report = check_health(engine, settings)
    stored = {h.name: h for h in store.feed_health(engine, [f.name for f in settings.feeds])}
    table = Table(title="feeds", title_justify="left")
    for column in COLUMNS:
        table.add_column(column)
    for feed in report.feeds:
        row = stored.get(feed.name)
        status = (row.last_status if row else None) or "never fetched"
        if row and row.last_http_status:
            status += f" ({row.last_http_status})"
        table.add_row(
            feed.name,
            styled((feed.state, STYLES.get(feed.state, ""))),
            _when(feed.since, report.checked_at),
            feed.reason,
            status,
            _when(row.next_fetch_at, report.checked_at) if row and row.next_fetch_at else "now",
            str(row.articles if row else 0),
            _last_error(row),
        )
    out.print(table)


def _last_error(row: store.FeedHealthRow | None) -> str:
    if row is None:
        return ""
    return row.last_error or (f"warning: {row.last_warning}" if row.last_warning else "")


@app.command("health")
@handles_errors
def health_command(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Print what is wrong with the watcher itself: feeds gone stale, stuck, failing or moved,
    and topics gone silent. Exit status 0 either way."""
    settings, engine = load(config, database_url, verbose)
    from ..health import check_health

    print_report(check_health(engine, settings))


def print_report(report: HealthReport) -> None:
    checked = f"{report.checked_at:%Y-%m-%d %H:%M} UTC"
    if report.healthy:
        out.print(
            styled(
                ("all well", "green"),
                f": {len(report.feeds)} feed(s) and {len(report.topics)} topic(s) checked "
                f"at {checked}",
            )
        )
        return
    out.print(f"{len(report.problems)} problem(s) at {checked}")
    for problem in report.problems:
        out.print(_line(problem), soft_wrap=True)
        if problem.hint:
            out.print(styled("    hint: ", problem.hint), soft_wrap=True)


def _line(problem: Problem) -> Text:
    parts: list[str | tuple[str, str]] = [
        (f"{problem.kind:<8}", STYLES.get(problem.kind, "")),
        f" {problem.subject_kind} {problem.subject}: {problem.reason}",
        f" (since {problem.since:%Y-%m-%d %H:%M} UTC)",
    ]
    if problem.topic_ids:
        parts.append(f"; latest match of: {', '.join(problem.topic_ids)}")
    return styled(*parts)


def _when(moment: datetime | None, now: datetime | None = None) -> str:
    from ..health.rhythm import span

    if moment is None:
        return "-"
    delta = moment - (now or datetime.now(UTC))
    amount = span(abs(delta))
    return f"in {amount}" if delta.total_seconds() > 0 else f"{amount} ago"
