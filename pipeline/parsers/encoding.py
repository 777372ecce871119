"""Which documents the fast path may decode: declared (or UTF-8 by default), agreed, clean.

feedparser decides a document's encoding from the HTTP charset, the XML declaration and the
media type (RFC 3023), and quietly tries other encodings (windows-1252, iso-8859-2, chardet) when
that fails. The fast path takes a document only when that first decision holds: the header and
the declaration agree, the bytes decode strictly and hold no replacement characters. A document
that declares nothing is UTF-8 by the XML rules, and by feedparser's; if its bytes are not, the
encoding is a guess and feedparser makes it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .prolog import FIRST_ELEMENT

# feedparser's own pattern: the declaration must be on the first line.
_XML_PI_ENCODING = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)
_XML_TYPES = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_XML_TYPES = ("text/xml", "text/xml-external-parsed-entity")
_OTHER_BOMS = (codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)


@dataclass(frozen=True, slots=True)
class Fallback:
    """Why a document goes to feedparser instead."""

    reason: str


def utf8_document(body: bytes, content_type: str | None) -> bytes | Fallback:
    """The document as UTF-8 bytes, decoded exactly as feedparser would, or why not."""
    if body.startswith(codecs.BOM_UTF8):
        body = body[3:]
    elif body.startswith(_OTHER_BOMS) or body[:1] == b"\x00" or body[1:2] == b"\x00":
        return Fallback("UTF-16/32 document")
    first = FIRST_ELEMENT.search(body)
    if first is not None and _DOCTYPE.search(body, 0, first.start()):
        return Fallback("DOCTYPE (entities and old RSS variants)")
    declaration = _XML_PI_ENCODING.match(body)
    declared = declaration.group(1).decode("ascii", "replace").lower() if declaration else ""
    encoding = _encoding(declared, content_type)
    if isinstance(encoding, Fallback):
        return encoding
    if encoding == "us-ascii":  # text/xml without a charset: feedparser reads it as ASCII
        return body if body.isascii() else Fallback("text/* without charset, non-ASCII bytes")
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        if not declared and not _parse_content_type(content_type or "")[1]:
            return Fallback("encoding undeclared and the bytes are not UTF-8")
        return Fallback(f"bytes do not decode as the declared {encoding}")
    if "\ufffd" in text:
        return Fallback("U+FFFD replacement characters in the document")
    return body if codecs.lookup(encoding).name == "utf-8" else text.encode("utf-8")


def _encoding(declared: str, content_type: str | None) -> str | Fallback:
    """feedparser's choice (RFC 3023) where header and document agree; otherwise a Fallback."""
    mime, charset = _parse_content_type(content_type or "")
    if content_type is not None and not (
        mime in _XML_TYPES
        or mime in _TEXT_XML_TYPES
        or (mime.startswith(("application/", "text/")) and mime.endswith("+xml"))
    ):
        return Fallback(f"{content_type} is not an XML media type")
    for name in (declared, charset):
        if name and not _known(name):
            return Fallback(f"unknown or ambiguous encoding {name!r}")
    if charset:
        if declared and codecs.lookup(charset).name != codecs.lookup(declared).name:
            return Fallback(f"HTTP charset {charset!r} disagrees with the declared {declared!r}")
        return charset.lower()
    if mime.startswith("text/"):
        return "us-ascii"
    return declared or "utf-8"


def _known(encoding: str) -> bool:
    # gb2312 is read as gb18030 by feedparser: leave such documents to it.
    try:
        return codecs.lookup(encoding).name != "gb2312"
    except LookupError:
        return False


def _parse_content_type(content_type: str) -> tuple[str, str]:
    # As feedparser.encodings.parse_content_type does it.
    mime, *params = content_type.split(";")
    charset = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    return mime.strip(), charset
