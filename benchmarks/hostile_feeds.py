"""How parsing and matching time grows on feed text built to be slow.

Run by hand:  python benchmarks/hostile_feeds.py [--sizes 20000 40000 80000]

Each case is a shape of hostile feed text that once took time quadratic (or worse) in its
length, found by reading the code for patterns that re-read text (tests/test_hostile_text.py
has what each guard keeps and refuses). Each is timed at the sizes given, through the entry
point a poll uses (`parse_bytes` for documents, the example topics' `Matcher` for text), and
the growth from one size to the next is printed as an exponent: 1 is linear, 2 quadratic.
Before the guards, the worst of these took hours to days at the 10 MB response cap; the figures
here are for the sizes given, and go to benchmarks/results/hostile_feeds.json.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from pipeline.config import compile_topics, load_config  # noqa: E402
from pipeline.errors import NotAFeed  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.redact import without_userinfo  # noqa: E402
from pipeline.topics import Document, Matcher, compile_topic  # noqa: E402

SIZES = (20_000, 40_000, 80_000)
DATE = b"<pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate>"


def rss(inside: bytes) -> bytes:
    head = b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
    return head + DATE + inside + b"</item></channel></rss>"


def parsing(make: Callable[[int], bytes]) -> Callable[[int], object]:
    def run(n: int) -> object:
        try:
            return parse_bytes(make(n), "https://x.example/feed")
        except NotAFeed as refused:  # a guard's answer is an outcome too
            return refused

    return run


def matching(make: Callable[[int], str]) -> Callable[[int], object]:
    example = compile_topics(load_config(ROOT / "examples/newswatch.yaml").config)
    near = compile_topic("near", "Near", "nato NEAR/10 deal")
    matcher = Matcher([*example, near])
    return lambda n: matcher.match(Document("Hostile", "", make(n)))


CASES: dict[str, Callable[[int], object]] = {
    "unclosed tags in a summary": parsing(
        lambda n: rss(b"<description>" + b"&lt;a href=&quot;" * n + b"</description>")
    ),
    "unclosed block tags in a summary": parsing(
        lambda n: rss(b"<description>" + b"&lt;p " * n + b"</description>")
    ),
    "an XML declaration repeating encoding=": parsing(
        lambda n: b"<?" + b'encoding="' * (n // 100) + rss(b"")
    ),
    "blank lines before the root element": parsing(lambda n: b"\n" * n + rss(b"")),
    "a NUL byte, then blank lines before the root element": parsing(
        lambda n: b"\x00" + b"\n" * n + rss(b"")
    ),
    "a UTF-16 declaration repeating encoding=": parsing(
        lambda n: (b"<?" + b'encoding="' * (n // 100) + rss(b"")).decode().encode("utf-16")
    ),
    "thousands of attributes on one element (feedparser)": parsing(
        lambda n: (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>a</id>'
            b'<updated>2026-02-02T10:00:00Z</updated><content type="xhtml">'
            b'<div xmlns="http://www.w3.org/1999/xhtml"><a '
            + b" ".join(b'a%d="1"' % i for i in range(n // 10))
            + b"/></div></content></entry></feed>"
        )
    ),
    "categories in one item": parsing(
        lambda n: rss(b"".join(b"<category>c%d</category>" % i for i in range(n // 10)))
    ),
    "an author of dots": parsing(lambda n: rss(b"<author>" + b"a." * n + b"</author>")),
    "a character reference of thousands of digits": parsing(
        lambda n: rss(b"<description>&amp;#" + b"9" * n + b";</description>")
    ),
    # NEAR reads the sentences between its two words
    "a run of full stops in a body (topic matching)": matching(
        lambda n: "nato " + "." * n + " deal"
    ),
    "both sides of a NEAR thousands of times (topic matching)": matching(
        lambda n: "nato " * (n // 20) + "zz " * 20 + "deal " * (n // 20)
    ),
    "a parser warning of one long word, logged": lambda n: without_userinfo("a." * n),
}


def measure(case: Callable[[int], object], sizes: list[int], repeat: int = 3) -> list[float]:
    """The fastest of `repeat` runs at each size: a collection or a busy core only adds."""
    times = []
    for size in sizes:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            case(size)
            runs.append(time.perf_counter() - started)
        times.append(min(runs))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sizes": args.sizes,
        "cases": {},
    }
    for name, case in CASES.items():
        times = measure(case, args.sizes)
        growth = [
            math.log2(later / earlier) / math.log2(b / a) if earlier > 1e-4 else None
            for (earlier, later), (a, b) in zip(pairwise(times), pairwise(args.sizes), strict=True)
        ]
        shown = ", ".join(f"{t * 1000:.1f} ms" for t in times)
        exponents = ", ".join("-" if g is None else f"{g:.2f}" for g in growth)
        print(f"{name:58s} {shown:32s} growth exponent {exponents}")
        report["cases"][name] = {  # type: ignore[index]
            "seconds": [round(t, 5) for t in times],
            "growth_exponent": [None if g is None else round(g, 2) for g in growth],
        }
    write_results("hostile_feeds", report)


if __name__ == "__main__":
    main()
