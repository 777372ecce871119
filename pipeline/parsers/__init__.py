"""The fast XML path: well-formed, correctly declared RSS 2.0, RSS 1.0 and Atom 1.0 read with lxml.

`read_fast` either returns what feedparser would have returned for the fields newswatch keeps
(same keys, same values) or a `Fallback` saying why the document needs feedparser.
"""

from . import hardening
from .encoding import Fallback
from .replay import FastFeed, read_fast

hardening.install()  # before any document is parsed, by either parser

__all__ = ["Fallback", "FastFeed", "read_fast"]
