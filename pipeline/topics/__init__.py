"""Watch topics: the query language, the analyzer, the one-pass matcher, scores, explanations."""

from .analysis import stem
from .explanation import ClauseExplanation, Explanation, Snippet, TermHit
from .folding import fold, words
from .matcher import Document, Match, Matcher
from .query import QueryError, parse_query
from .topic import Topic, TopicQueryError, compile_topic

__all__ = [
    "ClauseExplanation",
    "Document",
    "Explanation",
    "Match",
    "Matcher",
    "QueryError",
    "Snippet",
    "TermHit",
    "Topic",
    "TopicQueryError",
    "compile_topic",
    "fold",
    "parse_query",
    "stem",
    "words",
]
