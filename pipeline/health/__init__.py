"""A watch on the watcher: feeds that stopped publishing, got stuck, keep failing or moved,
and topics that went silent, each judged against its own rhythm (see `check_health`)."""

from .records import FeedHealth, HealthReport, Problem, TopicHealth
from .report import check_health

__all__ = ["FeedHealth", "HealthReport", "Problem", "TopicHealth", "check_health"]
