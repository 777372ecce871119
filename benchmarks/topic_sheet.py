"""A labelling sheet: what a reader needs to label a feed's items, and nothing a matcher made.

Run by hand:  python benchmarks/topic_sheet.py FEED [FEED ...] --out sheet.md

For each item of each feed (parsed by newswatch, as the evaluation reads it): its feed path
relative to tests/data, its GUID, its title, its summary and the lead of its body (the first
600 characters each), as Markdown for reading, with an empty CSV line under each item to fill
in with the language and one 0/1 per example topic. Nothing is scored or searched: labels
come from reading against tests/data/topic_eval/definitions.md (see "Labelling notes" there).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.parse import parse_bytes  # noqa: E402

DATA = ROOT / "tests/data"
LEAD = 600
COLUMNS = ("feed", "guid", "lang", "title")
TOPICS = ("defence_secretary_meetings", "peace_talks", "elections", "trade_tariffs")


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def sheet(feeds: list[Path]) -> str:
    """The Markdown sheet for these feed files."""
    lines = [
        "# Labelling sheet",
        "",
        "Header of the label lines: `" + ",".join(COLUMNS + TOPICS) + "`",
        "",
    ]
    for path in feeds:
        relative = path.resolve().relative_to(DATA).as_posix()
        parsed = parse_bytes(path.read_bytes(), "https://feeds.example.net/" + path.name)
        lines += [f"## {relative} ({len(parsed.articles)} items)", ""]
        for number, article in enumerate(parsed.articles, 1):
            blank = [relative, article.guid, "", article.title, *[""] * len(TOPICS)]
            lines += [
                f"### {number}. {article.title}",
                "",
                f"- summary: {article.summary[:LEAD]}",
                f"- lead: {(article.content or '')[:LEAD]}",
                "",
                "    " + _csv_line(blank),
                "",
            ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("feeds", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    args.out.write_text(sheet(args.feeds), encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
