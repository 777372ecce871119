"""The `newswatch` command line. Importing the command modules registers their commands."""

from . import alerts, history, ingest, topics
from .app import app

__all__ = ["alerts", "app", "history", "ingest", "topics"]
