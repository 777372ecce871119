"""The `newswatch` command line. Importing the command modules registers their commands."""

from . import alerts, history, ingest, topics, web
from .app import app

__all__ = ["alerts", "app", "history", "ingest", "topics", "web"]
