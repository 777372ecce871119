"""Watch topics: the query language, the analyzer, the one-pass matcher, scores, explanations."""

from .analysis import stem
from .explanation import ClauseExplanation, Explanation, Snippet, TermHit
from .folding import fold, words
from .matcher import Document, Match, Matcher
from .nearmiss import NEAR_MISS_MARGIN, MissKind, NearMiss, NearMisses, near_miss
from .query import QueryError, parse_query
from .topic import Topic, TopicQueryError, compile_topic

__all__ = [
    "NEAR_MISS_MARGIN",
    "ClauseExplanation",
    "Document",
    "Explanation",
    "Match",
    "Matcher",
    "MissKind",
    "NearMiss",
    "NearMisses",
    "QueryError",
    "Snippet",
    "TermHit",
    "Topic",
    "TopicQueryError",
    "compile_topic",
    "fold",
    "near_miss",
    "parse_query",
    "stem",
    "words",
]
