"""The `newswatch` command line. Importing the command modules registers their commands."""

from . import alerts, health, history, ingest, topics, web
from .app import app

__all__ = ["alerts", "app", "health", "history", "ingest", "topics", "web"]
