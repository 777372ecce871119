"""Watch topics: the query language, the one-pass matcher, scores and explanations."""

from .folding import fold, words
from .matcher import Document, Explanation, Match, Matcher, Snippet, TermHit
from .query import QueryError, parse_query
from .topic import Topic, TopicQueryError, compile_topic

__all__ = [
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
    "words",
]
