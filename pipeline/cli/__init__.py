"""The `newswatch` command line. Importing the command modules registers their commands."""

from . import alerts, ingest, topics
from .app import app

__all__ = ["alerts", "app", "ingest", "topics"]
