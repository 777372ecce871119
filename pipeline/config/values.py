"""The forms a config value may take: durations, feed URLs and allow-list entries.

They are pydantic validators, so a bad value becomes an error at its key path (`feeds[3].url`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator

from ..redact import without_userinfo

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """`90`, `"90s"`, `"15m"`, `"2h"`, `"1d"` -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 900, '15m' or '1h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 900, '15m' or '1h', got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("expected a duration greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def check_allow_entry(entry: str) -> str:
    """An allow-list entry is an address, a network (`10.0.0.0/8`) or a host (`*.corp.example`)."""
    value = entry.strip().lower()
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        if not _HOST.match(value):
            raise ValueError(
                f"expected an address, a network such as 10.0.0.0/8, or a host name, got {entry!r}"
            ) from None
    return value


def check_feed_url(url: str) -> str:
    """An http(s) URL with a host, a file:// URL, or a path (anything without a scheme)."""
    expected = "expected an http(s) URL, a file:// URL or a path"
    text = url.strip()
    if not text:
        raise ValueError(f"{expected}, got ''")
    shown = without_userinfo(text)
    if _CONTROL.search(text):
        raise ValueError(f"{expected}, got {shown!r} (it contains control characters)")
    scheme = _SCHEME.match(text)
    if scheme is None or len(scheme.group(1)) == 1:  # a path (C: is a Windows drive)
        return url
    name = scheme.group(1).lower()
    parts = urlsplit(text)
    if name == "file":
        if not text[5:].startswith("//") or not parts.path:
            raise ValueError(f"expected file:///path/to/feed.xml, got {shown!r}")
        return url
    if name not in ("http", "https"):
        raise ValueError(f"{expected}, got {shown!r} (unknown scheme {name!r})")
    if not text[len(name) + 1 :].startswith("//") or not parts.hostname:
        raise ValueError(f"expected {name}://host/path, got {shown!r}")
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValueError(f"{shown!r} has an invalid port") from None
    if any(c.isspace() for c in text):
        raise ValueError(f"{shown!r} contains spaces (write them as %20)")
    return url


AllowEntry = Annotated[str, AfterValidator(check_allow_entry)]
