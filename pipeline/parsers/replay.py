"""Read a well-formed feed with lxml, replaying feedparser's element handlers for what we keep.

feedparser walks the document with SAX callbacks and a pile of state (which title came first,
which description becomes content, how authors merge). This module replays that state for the
elements newswatch reads (ids, links, titles, summaries, content, authors, tags, dates) and
borrows feedparser's own helpers where they are small (dates, URL fixing, authors, tags), so the
result is the same dictionary feedparser would build. An element whose feedparser handler is
not replayed here makes the whole document fall back: the fast path is exact or it steps aside.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

from . import hardening
from .encoding import Fallback, utf8_document

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS10_NS = "http://purl.org/rss/1.0/"
RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_COPIED_TO_SUMMARY = _HTML_TYPES | {"text/plain"}

TITLES = {"title", "dc_title"}
DESCRIPTIONS = {"description", "dc_description", "media_description"}
SUMMARIES = {"summary", "itunes_summary"}
CONTENTS = {"content": "text/plain", "content_encoded": "text/html", "fullitem": "text/html"}
DATES = {
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms_issued"), "published_parsed"),
    **dict.fromkeys(
        ("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"), "updated_parsed"
    ),
    **dict.fromkeys(("created", "dcterms_created"), "created_parsed"),
}
AUTHORS = {"author", "dc_creator", "dc_author", "itunes_author", "managingeditor"}
AUTHOR_PARTS = {"name": "name", "email": "email", "uri": "href", "url": "href", "homepage": "href"}
AUTHOR_PARTS |= {"itunes_name": "name", "itunes_email": "email"}
# Children an image or text input box may have before feedparser forgets it is inside one.
BOX_PARTS = {"image": {"title", "link", "url", "href", "width", "height"}}
BOX_PARTS["textinput"] = {"title", "link", "description", "name"}
CATEGORIES = {"category", "dc_subject", "keywords"}
# Entry elements whose handlers touch none of the fields we keep; these may hold children.
CONTAINERS = {"media_content", "media_group"}
INERT = {
    "enclosure", "media_thumbnail", "media_credit", "media_rating", "media_restriction",
    "media_license", "media_player", "dc_publisher", "webmaster", "dc_rights", "rights",
    "copyright", "dc_language", "language", "itunes_image", "itunes_explicit", "itunes_block",
    "itunes_subtitle", "subtitle", "expirationdate",
}  # fmt: skip
ENTRY_HANDLERS = {
    **dict.fromkeys((*TITLES, "media_title"), "title"),
    **dict.fromkeys((*DESCRIPTIONS, *SUMMARIES), "summary"),
    **dict.fromkeys(CONTENTS, "content"),
    **dict.fromkeys(DATES, "date"),
    "link": "link",
    "id": "id",
    "guid": "id",
    **dict.fromkeys(AUTHORS, "author"),
    **dict.fromkeys(CATEGORIES, "category"),
    **dict.fromkeys(INERT, "inert"),
    "source": "reset",
    "image": "reset",
}
# Keys our entry dictionaries are read by: an unhandled element must not write one of them.
ENTRY_KEYS = {"id", "link", "links", "title", "summary", "content", "author", "authors", "tags"}
ENTRY_KEYS |= set(DATES.values())
# Feed-level names that change the feed's title, links or entries when nested.
FEED_SENSITIVE = TITLES | {"media_title", "link", "id", "guid", "item", "entry", "image"}
FEED_SENSITIVE |= {"textinput", "source", "channel", *CONTENTS, "body", "xhtml_body"}
# What feedparser would make of text read as Latin-1 that is really UTF-8, or cp1252 C1 bytes.
_SUSPECT = re.compile("[\x80-\x9f\ufffd]|[\xc2-\xf4][\xa0-\xbf]")
_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")
_HAS_BASE = etree.XPath("boolean(//@*[local-name()='base'])")
_local = threading.local()


class _NotExact(Exception):
    """The document needs feedparser; the message says why."""


class _Context:
    """Lends feedparser's author and tag helpers a context dictionary to work on."""

    __slots__ = ("context",)
    _sync_author_detail = hardening.sync_author_detail
    _save_author = _FeedParserMixin._save_author
    _add_tag = hardening.add_tag

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def _get_context(self) -> dict[str, Any]:
        return self.context


@dataclass(slots=True)
class FastFeed:
    """What feedparser would have returned for the keys newswatch reads."""

    version: str
    feed: dict[str, Any]
    entries: list[dict[str, Any]]


@dataclass(slots=True)
class _Entry:
    data: dict[str, Any] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    title_depth: int = -1
    has_content: bool = False

    def store(self, key: str, value: Any, depth: int) -> None:
        # feedparser keeps the value found nearest the entry element (a later one at the same
        # depth replaces it).
        old = self.depths.get(key)
        if old is None or depth <= old:
            self.depths[key] = depth
            self.data[key] = value


def read_fast(body: bytes, content_type: str | None) -> FastFeed | Fallback:
    """Read `body` exactly as feedparser would, or say why it cannot (then use feedparser)."""
    document = utf8_document(body, content_type)
    if isinstance(document, Fallback):
        return document
    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as error:
        return Fallback(f"not well-formed: {error}")
    try:
        return _Replay().feed_document(root)
    except _NotExact as reason:
        return Fallback(str(reason))


def _parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe: one per thread. No DTDs, entities or network, ever.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False
        )
    return parser


class _Replay:
    def __init__(self) -> None:
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.title_depth = -1

    def feed_document(self, root: etree._Element) -> FastFeed:
        if root.getroottree().docinfo.doctype:
            raise _NotExact("DOCTYPE")
        if _HAS_BASE(root):
            raise _NotExact("xml:base (relative links resolve differently)")
        version = _version(root)
        self._children(root, 2, infeed=version.startswith("atom"))
        if not self.entries:
            raise _NotExact("no entries")
        for entry in self.entries:
            if not any(entry.get(key) for key in set(DATES.values())):
                raise _NotExact("an entry without a date we can read")
        return FastFeed(version, self.feed, self.entries)

    def _children(self, parent: etree._Element, depth: int, *, infeed: bool) -> None:
        for element in parent:
            if not isinstance(element.tag, str):
                continue
            name = _name(element)
            if name in ("item", "entry"):
                self._entry(element, depth)
            elif name == "channel" and not infeed:
                _no_cdf(element)
                self._children(element, depth + 1, infeed=True)
            elif name in ("image", "textinput"):
                self._image(element, depth)
            elif infeed and name in TITLES:
                self._feed_title(element, depth)
            elif infeed and name == "link":
                self._feed_link(element)
            elif infeed and name in ("id", "guid"):
                self._feed_id(element)
            elif any(_name(e) in FEED_SENSITIVE for e in _elements(element)):
                raise _NotExact(f"<{name}> where the feed's title, links or entries are read")

    def _feed_title(self, element: etree._Element, depth: int) -> None:
        value = _text(element)
        _check_type(element, "text/plain")
        if not -1 < self.title_depth <= depth:
            self.feed["title"] = value
        if value:  # even an ignored title moves the lock, as feedparser's `_end_title` does
            self.title_depth = depth

    def _feed_link(self, element: etree._Element) -> None:
        href = _link(self.feed, _attrs(element))
        if href is None:
            value = _ENTITY_LIKE.sub(r"&\g<1>", _urljoin("", _text(element)))
            self.feed["link"] = self.feed["links"][-1]["href"] = value

    def _feed_id(self, element: etree._Element) -> None:
        value = _text(element)
        if _attrs(element).get("ispermalink", "true") == "true":
            self.feed.setdefault("link", _urljoin("", value))

    def _image(self, element: etree._Element, depth: int) -> None:
        """An image or text input box: its title and link are its own; the title lock moves.

        feedparser forgets it is inside the box at the first other unprefixed element, after
        which a title or link would be the feed's: we take the box only while that cannot be.
        """
        self.title_depth = -1
        box, inside = _name(element), True
        for child in element:
            if not isinstance(child.tag, str):
                continue
            name = _name(child)
            if len(child) or (name in FEED_SENSITIVE and not (inside and name in BOX_PARTS[box])):
                raise _NotExact(f"<{name}> inside <{box}>")
            if name == "title" and _text(child):
                self.title_depth = depth + 1
            prefixed = name != etree.QName(child).localname.lower()
            inside = inside and (prefixed or name in BOX_PARTS[box])

    def _entry(self, item: etree._Element, depth: int) -> None:
        _no_cdf(item)
        entry = _Entry()
        about = _attrs(item).get("rdf:about")
        if about:
            entry.data["id"] = about
        self.title_depth = -1
        for element in item:
            if isinstance(element.tag, str):
                self._entry_element(entry, element, depth + 1)
        self.title_depth = entry.title_depth
        self.entries.append(entry.data)

    def _entry_element(self, entry: _Entry, element: etree._Element, depth: int) -> None:
        name = _name(element)
        kind = ENTRY_HANDLERS.get(name)
        data = entry.data
        if kind is None:
            if _has_handler(name) and name not in CONTAINERS:
                raise _NotExact(f"<{name}> inside an entry")
            if name in ENTRY_KEYS:
                raise _NotExact(f"unknown element <{name}> would overwrite an entry field")
            for child in element:
                if isinstance(child.tag, str):
                    self._entry_element(entry, child, depth + 1)
        elif kind == "title":
            value = _text(element)
            _check_type(element, "text/plain")
            if not -1 < entry.title_depth <= depth:
                entry.store("title", value, depth)
            if value and name != "media_title":  # feedparser restores the lock after media:title
                entry.title_depth = depth
        elif kind == "summary":
            value = _text(element)
            if "summary" in data and not entry.has_content:
                # feedparser: a second description is content (it already has a summary).
                self._content(entry, element, value, "text/plain")
            else:
                _check_type(element, "text/html" if name in DESCRIPTIONS else "text/plain")
                entry.store("summary", value, depth)
        elif kind == "content":
            self._content(entry, element, _text(element), CONTENTS[name])
        elif kind == "date":
            data[DATES[name]] = _parse_date(_text(element))
        elif kind == "link":
            if _link(data, _attrs(element)) is None:
                value = _urljoin("", _text(element)).replace("&amp;", "&")
                value = _ENTITY_LIKE.sub(r"&\g<1>", value)
                data["link"] = value
                if value:
                    data["links"][-1]["href"] = value
        elif kind == "id":
            is_link = _attrs(element).get("ispermalink", "true") == "true"
            value = _text(element)
            value = _urljoin("", value) if is_link else value
            entry.store("id", value, depth)
            if is_link:
                data.setdefault("link", value)
        elif kind == "author":
            self._author(entry, element, depth)
        elif kind == "category":
            self._category(data, _attrs(element), _text(element))
        elif kind == "inert":
            _leaf(element, name)
        else:  # "reset": <source> and <image> unlock the title, as in feedparser
            _leaf(element, name)
            entry.title_depth = -1

    def _content(self, entry: _Entry, element: etree._Element, value: str, default: str) -> None:
        attrs = _attrs(element)
        if "src" in attrs:
            raise _NotExact("content by reference (src)")
        kind = _check_type(element, default)
        entry.has_content = True
        entry.data.setdefault("content", []).append({"value": value})
        if kind in _COPIED_TO_SUMMARY:
            entry.data.setdefault("summary", value)

    def _author(self, entry: _Entry, element: etree._Element, depth: int) -> None:
        context = _Context(entry.data)
        entry.data.setdefault("authors", []).append({})
        own = [element.text or ""]
        for child in element:
            if not isinstance(child.tag, str):
                raise _NotExact("comment or processing instruction inside an author")
            part = AUTHOR_PARTS.get(_name(child))
            if part is None:
                raise _NotExact(f"<{_name(child)}> inside an author")
            value = _text(child)
            if part == "href":
                value = _urljoin("", value)
                entry.data["href"] = value
            context._save_author(part, value)
            own.append(child.tail or "")
        entry.store("author", _checked("".join(own).strip()), depth)
        context._sync_author_detail()

    def _category(self, data: dict[str, Any], attrs: dict[str, str], value: str) -> None:
        context = _Context(data)
        scheme = attrs.get("scheme", attrs.get("domain"))
        context._add_tag(attrs.get("term"), scheme, attrs.get("label"))
        if not value:
            return
        tags = data["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            context._add_tag(value, None, None)


def _version(root: etree._Element) -> str:
    name = _name(root)
    declared = {uri.lower() for uri in root.nsmap.values()}
    if name == "rss":
        if RSS10_NS in declared or RSS090_NS in declared:
            raise _NotExact("RSS root declaring the RSS 1.0/0.9 namespace")
        version = root.get("version", "")
        return _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
    if name == "rdf_rdf" and RSS10_NS in declared and not declared & {ATOM_NS.lower(), RSS090_NS}:
        return "rss10"
    if name == "feed" and root.tag == f"{{{ATOM_NS}}}feed" and RSS10_NS not in declared:
        return "atom10"
    raise _NotExact(f"format not handled by the fast path (<{root.tag}>)")


_names: dict[tuple[str, str | None], str] = {}
_handlers: dict[str, bool] = {}


def _name(element: etree._Element) -> str:
    """The name feedparser dispatches on: known namespaces by their fixed prefix."""
    key = (element.tag, element.prefix)
    name = _names.get(key)
    if name is None:
        tag = element.tag
        prefix, local = "", tag
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                lower = "http://backend.userland.com/rss"
            prefix = _NAMESPACES.get(lower)
            if prefix is None:
                prefix = element.prefix or ""
        name = _names[key] = f"{prefix}_{local}".lower() if prefix else local.lower()
    return name


def _has_handler(name: str) -> bool:
    known = _handlers.get(name)
    if known is None:
        known = _handlers[name] = hasattr(_FeedParserMixin, "_start_" + name) or hasattr(
            _FeedParserMixin, "_end_" + name
        )
    return known


def _attrs(element: etree._Element) -> dict[str, str]:
    """Attributes as feedparser sees them: known prefixes, lower-case names, `&amp;` undone."""
    attrs = {}
    for key, value in element.attrib.items():
        if key.startswith("{"):
            uri, local = key[1:].split("}", 1)
            prefix = _NAMESPACES.get(uri.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        value = value.lower() if key in ("rel", "type") else value
        attrs[key] = value.replace("&amp;", "&")
    return attrs


def _link(context: dict[str, Any], attrs: dict[str, str]) -> str | None:
    """feedparser's `_start_link`: record the link; return its href, or None when the URL is
    the element's text."""
    attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
    attrs = _FeedParserMixin._enforce_href(attrs)
    context.setdefault("links", []).append(attrs)
    if "href" not in attrs:
        return None
    attrs["href"] = _urljoin("", attrs["href"])
    if attrs["rel"] == "alternate" and _content_type(attrs["type"]) in _HTML_TYPES:
        context["link"] = attrs["href"]
    return attrs["href"]


def _text(element: etree._Element) -> str:
    if len(element):
        raise _NotExact(f"markup or comments inside <{_name(element)}>")
    return _checked((element.text or "").strip())


def _checked(value: str) -> str:
    """Text feedparser would repair (mojibake, cp1252 bytes) is a sign of encoding trouble."""
    if not value.isascii() and _SUSPECT.search(value):
        if any("\x80" <= char <= "\x9f" or char == "\ufffd" for char in value):
            raise _NotExact("C1 control or replacement characters in text")
        try:
            value.encode("iso-8859-1").decode("utf-8")
        except UnicodeError:
            return value
        raise _NotExact("text that reads as double-encoded UTF-8")
    return value


def _check_type(element: etree._Element, default: str) -> str:
    attrs = element.attrib
    if "mode" in attrs:
        raise _NotExact("mode= (base64 or escaped Atom 0.3 content)")
    kind = _content_type(attrs.get("type", default).lower())
    if not kind.startswith("text/"):
        raise _NotExact(f"content type {kind!r} (XHTML or base64)")
    return kind


def _content_type(kind: str) -> str:
    # feedparser's map_content_type
    short = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}
    return short.get(kind) or {"xhtml": "application/xhtml+xml"}.get(kind, kind)


def _leaf(element: etree._Element, name: str) -> None:
    if len(element):
        raise _NotExact(f"children inside <{name}>")


def _no_cdf(element: etree._Element) -> None:
    if {"lastmod", "href"} & set(_attrs(element)):
        raise _NotExact("CDF attributes on an item or channel")


def _elements(element: etree._Element) -> list[etree._Element]:
    return [e for e in element.iter() if isinstance(e.tag, str)]
