"""The `newswatch` command line. Importing the command modules registers their commands."""

from . import ingest, topics
from .app import app

__all__ = ["app", "ingest", "topics"]
