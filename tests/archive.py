"""Generated feed history for backfill tests: five days, three stories a day, split into an
RFC 5005 archive (a subscription document and archive documents linked by prev-archive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

DAY0 = datetime(2026, 2, 10, tzinfo=UTC)
# Three different stories a day, each worded differently from every other day's (otherwise
# they would be near-duplicates, one story, which is what the stories stage is for).
DAYS = (
    ("Oslo", "fjord patrol boats", "coalition collapse", "sleet and black ice"),
    ("Lima", "coastal radar stations", "constitutional crisis", "a heatwave in the desert"),
    ("Accra", "peacekeeping academies", "parliament dissolved early", "harmattan dust storms"),
    ("Hanoi", "shipyard upgrades", "party congress reshuffle", "typhoon warnings upriver"),
    ("Quito", "mountain helicopter squadrons", "impeachment vote fails", "volcanic ash advisories"),
)
STORIES = (
    (
        "Defence secretary meets {place} counterpart over {a}",
        "The defence secretary held talks in {place} about {a}.",
    ),
    (
        "Snap election called in {place} after {b}",
        "Voters in {place} will go to the polls: the election follows {b}.",
    ),
    ("Weather in {place}: {c}", "Forecasters in {place} warn of {c} this week."),
)


def entries(day: int) -> str:
    published = DAY0 + timedelta(days=day, hours=12)
    place, a, b, c = DAYS[day]
    return "".join(
        f"<entry><id>tag:archive.example,2026:{day}-{i}</id>"
        f"<title>{title.format(place=place, a=a, b=b, c=c)}</title>"
        f"<link rel='alternate' href='https://archive.example/{day}/{i}'/>"
        f"<updated>{published.isoformat()}</updated>"
        f"<summary>{summary.format(place=place, a=a, b=b, c=c)}</summary></entry>"
        for i, (title, summary) in enumerate(STORIES)
    )


def document(days: range, links: dict[str, str]) -> str:
    link_tags = "".join(f"<link rel='{rel}' href='{href}'/>" for rel, href in links.items())
    return (
        "<feed xmlns='http://www.w3.org/2005/Atom' xmlns:fh='http://purl.org/syndication/history/1.0'>"
        f"<title>Archive desk</title><id>tag:archive.example,2026:feed</id>{link_tags}"
        + "".join(entries(day) for day in reversed(days))
        + "</feed>"
    )


def rfc5005(folder: Path) -> dict[str, str]:
    """feed.xml (days 4) -> archive-2.xml (days 2-3) -> archive-1.xml (days 0-1)."""
    docs = {
        "feed.xml": document(range(4, 5), {"prev-archive": "archive-2.xml"}),
        "archive-2.xml": document(
            range(2, 4), {"prev-archive": "archive-1.xml", "current": "feed.xml"}
        ),
        "archive-1.xml": document(range(0, 2), {"current": "feed.xml"}),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text)
    return docs


def paged(next_rel: str = "next") -> dict[str, str]:
    """page1 (day 4) -next-> page2 (days 2-3) -next-> page3 (days 0-1)."""
    return {
        "page1": document(range(4, 5), {next_rel: "page2"}),
        "page2": document(range(2, 4), {next_rel: "page3"}),
        "page3": document(range(0, 2), {}),
    }


def snapshots(folder: Path) -> None:
    """One saved copy of the feed a day, each with that day and the one before."""
    folder.mkdir(parents=True, exist_ok=True)
    for day in range(5):
        (folder / f"{(DAY0 + timedelta(days=day)):%Y-%m-%d}.xml").write_text(
            document(range(max(0, day - 1), day + 1), {})
        )


# The three-day window used by the tests: days 1, 2 and 3.
WINDOW = (DAY0 + timedelta(days=1), DAY0 + timedelta(days=4))
IN_WINDOW = 9  # three stories a day
