"""A watch topic compiled from its config: the parsed query and exclusion, and its settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .query import Node, QueryError, parse_query


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    query: Node
    exclude: Node | None = None
    threshold: float = 0.5
    enabled: bool = True
    channel: str | None = None
    query_text: str = ""


class TopicQueryError(QueryError):
    """A query or exclusion that does not parse, with the topic and key it came from."""

    def __init__(self, topic_id: str, key: str, error: QueryError) -> None:
        super().__init__(error.message, error.column)
        self.topic_id = topic_id
        self.key = key


def compile_topic(
    topic_id: str,
    name: str,
    query: str,
    *,
    exclude: str | None = None,
    threshold: float = 0.5,
    enabled: bool = True,
    channel: str | None = None,
    term_lists: Mapping[str, Sequence[str]] | None = None,
) -> Topic:
    parsed = {}
    for key, text in (("query", query), ("exclude", exclude)):
        if text is None:
            continue
        try:
            parsed[key] = parse_query(text, term_lists)
        except QueryError as error:
            raise TopicQueryError(topic_id, key, error) from None
    return Topic(
        id=topic_id,
        name=name,
        query=parsed["query"],
        exclude=parsed.get("exclude"),
        threshold=threshold,
        enabled=enabled,
        channel=channel,
        query_text=" ".join(query.split()),
    )
