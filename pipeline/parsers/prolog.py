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

MAX_DECLARATION = 1_000  # characters from "<?" to its "?>"
MAX_PROLOG = 32_768  # characters before the first element, blank lines dropped
# Where a document's first element begins: "<" and a name (not "<?", "<!"), as feedparser looks.
FIRST_ELEMENT = re.compile(rb"<\w")
# UTF-32 and UTF-16 as feedparser tells them, in its order: by a byte order mark, else by how
# "<" or "<?" begins the document. feedparser decodes these before it reads their prolog.
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_MARKERS = (
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
)


def safe_prolog(body: bytes) -> bytes:
    """`body` with a prolog that feedparser's patterns read in linear time. Raises `NotAFeed`
    when the declaration does not end within `MAX_DECLARATION` characters or no element starts
    within `MAX_PROLOG`. A UTF-16 or UTF-32 document is guarded as text and encoded back as it
    came; one that does not decode is guarded as bytes, like any other."""
    bom, codec = _wide(body)
    if codec:
        try:
            text = body[len(bom) :].decode(codec)
        except UnicodeDecodeError:
            pass
        else:
            return bom + _safe(text.encode("utf-8")).decode("utf-8").encode(codec)
    utf8_bom = codecs.BOM_UTF8 if body.startswith(codecs.BOM_UTF8) else b""
    return utf8_bom + _safe(body[len(utf8_bom) :])


def _wide(body: bytes) -> tuple[bytes, str | None]:
    """The byte order mark and codec of a UTF-16 or UTF-32 document, else (b"", None)."""
    for mark, codec in _BOMS:
        # FF FE 00 00 is UTF-32's mark, checked first; feedparser never reads it as UTF-16
        if body.startswith(mark) and not (codec.startswith("utf-16") and body[2:4] == b"\0\0"):
            return mark, codec
    for marker, codec in _MARKERS:
        if body.startswith(marker):
            return b"", codec
    return b"", None


def _safe(document: bytes) -> bytes:
    """The guard itself, on an ASCII-compatible document without a byte order mark."""
    declaration = b""
    if document.startswith(b"<?"):
        end = document.find(b"?>", 0, MAX_DECLARATION)
        if end < 0:
            raise NotAFeed(
                f"not a feed: its XML declaration does not end within {MAX_DECLARATION:,} "
                "characters"
            )
        declaration, document = document[: end + 2] + b"\n", document[end + 2 :]
    first = FIRST_ELEMENT.search(document)
    if first is None:  # not a feed: the parsers say so, once it is short enough to read
        if len(document) > MAX_PROLOG:
            raise NotAFeed(f"not a feed: no element starts within {MAX_PROLOG:,} characters")
        return declaration + document
    # The first line stays as it is: feedparser reads the declaration only from there (one
    # after a blank line does not count), and the fast path must decide as it does.
    start = 0 if declaration else document.find(b"\n", 0, first.start()) + 1
    lines = document[start : first.start()].split(b"\n")
    prolog = b"".join(line + b"\n" for line in lines if line.strip())
    if start + len(prolog) > MAX_PROLOG:
        raise NotAFeed(f"not a feed: no element starts within {MAX_PROLOG:,} characters")
    return declaration + document[:start] + prolog + document[first.start() :]
