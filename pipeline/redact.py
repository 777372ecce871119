"""Credentials inside URLs (`http://user:secret@proxy:3128`) never reach a log or an error.

Proxy URLs from HTTPS_PROXY / HTTP_PROXY carry them, and libraries log those URLs at debug
level (slack_sdk does); a feed URL or a redirect may carry them too.
"""

from __future__ import annotations

import logging
import re

# Found from its "://", whatever the scheme: a pattern that first reads a scheme would try it
# from every letter of a long word (a feed's 100 KB parser warning took seconds to log).
_USERINFO = re.compile(r"://[^/\s@]+@")


def without_userinfo(text: str) -> str:
    """`http://user:secret@proxy:3128` -> `http://[redacted]@proxy:3128`, anywhere in a text."""
    return _USERINFO.sub("://[redacted]@", text)


class UserinfoFilter(logging.Filter):
    """Scrubs URL credentials from every record passing a handler, tracebacks included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = without_userinfo(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = without_userinfo(record.exc_text)
        return True


def scrub_logs(logger: logging.Logger | None = None) -> None:
    """Install the filter on the handlers of `logger` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, UserinfoFilter) for f in handler.filters):
            handler.addFilter(UserinfoFilter())
