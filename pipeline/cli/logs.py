"""The log handler of the command line, imported only by commands that set up logging."""

from __future__ import annotations

import logging

from rich.console import RenderableType
from rich.logging import RichHandler

from ..text import printable


class TextLogHandler(RichHandler):
    """Log lines as text (feed text and errors quoting it may be in them); `scrub_logs` takes
    the credentials out of any URL they carry."""

    def render_message(self, record: logging.LogRecord, message: str) -> RenderableType:
        return super().render_message(record, printable(message))
