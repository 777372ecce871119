"""What comes before a feed's first element, made safe to read with regular expressions.

feedparser reads the prolog with patterns that are slow on hostile input: the XML declaration's
encoding from the document's whole first line (cubic in that line's length when it repeats
`encoding="` and never closes), and DOCTYPE and ENTITY declarations from every line start before
the first element (quadratic in a run of blank lines: 10 MB of them would take days). The fast
path reads the declaration the same way. So before either reads a document, its declaration
ends its own line, blank lines before the first element are dropped, and a document whose
declaration or prolog is longer than any real feed's is refused.
"""

from __future__ import annotations

import codecs
import re

from ..errors import NotAFeed

MAX_DECLARATION = 1_000  # bytes from "<?" to its "?>"
MAX_PROLOG = 16_384  # bytes between the declaration and the first element, blank lines dropped
_FIRST_ELEMENT = re.compile(rb"<\w")
_WIDE = (codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


def safe_prolog(body: bytes) -> bytes:
    """`body` with a prolog feedparser's patterns read in linear time; raises `NotAFeed` when
    the declaration does not end within `MAX_DECLARATION` bytes or no element starts within
    `MAX_PROLOG` bytes after it. UTF-16 and UTF-32 documents are left as they are (their bytes
    are not ASCII-compatible; the fast path does not take them either)."""
    if body.startswith(_WIDE) or body[:1] == b"\x00" or body[1:2] == b"\x00":
        return body
    bom = codecs.BOM_UTF8 if body.startswith(codecs.BOM_UTF8) else b""
    rest = body[len(bom) :]
    declaration = b""
    if rest.startswith(b"<?"):
        end = rest.find(b"?>", 0, MAX_DECLARATION)
        if end < 0:
            raise NotAFeed(
                f"not a feed: its XML declaration does not end within {MAX_DECLARATION:,} bytes"
            )
        declaration, rest = rest[: end + 2] + b"\n", rest[end + 2 :]
    first = _FIRST_ELEMENT.search(rest)
    if first is None:  # not a feed: the parsers say so, once it is short enough to read
        if len(rest) > MAX_PROLOG:
            raise NotAFeed(f"not a feed: no element starts within its first {MAX_PROLOG:,} bytes")
        return bom + declaration + rest
    # The first line stays as it is: feedparser reads the declaration only from there (one
    # after a blank line does not count), and the fast path must decide as it does.
    start = 0 if declaration else rest.find(b"\n", 0, first.start()) + 1
    lines = rest[start : first.start()].split(b"\n")
    prolog = b"".join(line + b"\n" for line in lines if line.strip())
    if start + len(prolog) > MAX_PROLOG:
        raise NotAFeed(f"not a feed: no element starts within its first {MAX_PROLOG:,} bytes")
    return bom + declaration + rest[:start] + prolog + rest[first.start() :]
