"""Score new articles against every enabled topic, once, and store what passed.

Articles are read in batches of those not yet scored; each batch's matches and its "scored"
mark are written in one transaction, so a crash rescoring a batch stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from .config import Config, compile_topics
from .records import StoredArticle, TopicMatch
from .store import matches as match_store
from .store.stories import assign_stories
from .stories import DEFAULT_WINDOW
from .topics import NEAR_MISS_MARGIN, Document, Match, Matcher, NearMiss, NearMisses, Topic
from .topics.boilerplate import Boilerplate, learn_boilerplate

BATCH_SIZE = 500
# How many of a feed's latest stored items show what it repeats in every item (boilerplate).
BOILERPLATE_SAMPLE = 40


@dataclass(slots=True)
class ScoreResult:
    articles: int = 0
    matches: list[TopicMatch] = field(default_factory=list)
    new_matches: int = 0


class FeedBoilerplate:
    """Each feed's boilerplate (`topics.boilerplate`), learned from its latest stored items
    the first time one of its articles is matched in a run."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._feeds: dict[int, Boilerplate] = {}

    def document_for(self, article: StoredArticle) -> Document:
        """The article as topics see it: its feed's boilerplate blanked."""
        boilerplate = self._feeds.get(article.feed_id)
        if boilerplate is None:
            recent = match_store.recent_feed_articles(
                self._engine, article.feed_id, BOILERPLATE_SAMPLE
            )
            boilerplate = self._feeds[article.feed_id] = learn_boilerplate(map(_document, recent))
        return boilerplate.strip(_document(article))


def document_for(engine: Engine, article: StoredArticle) -> Document:
    """One stored article as scoring saw it (its feed's boilerplate blanked): what
    explanations of a stored article are made from."""
    return FeedBoilerplate(engine).document_for(article)


def _document(article: StoredArticle) -> Document:
    return Document(article.title, article.summary, article.content)


def passed_matches(matcher: Matcher, document: Document, article_id: int) -> list[TopicMatch]:
    return [
        TopicMatch(article_id, m.topic.id, m.score, m.explanation.to_dict())
        for m in matcher.match(document)
        if m.passed and m.explanation is not None  # a passing match is always explained
    ]


def score_new_articles(
    engine: Engine,
    topics: Sequence[Topic],
    *,
    story_window: timedelta = DEFAULT_WINDOW,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ScoreResult:
    """Place new articles in stories, then score every article not scored yet; returns how
    many, and the matches stored (as matched at `now`, default the clock's). Stories come
    first: alerts are owed per story."""
    assign_stories(engine, story_window)
    matcher = Matcher(topics)
    feeds = FeedBoilerplate(engine)
    result = ScoreResult()
    while batch := match_store.unscored_articles(engine, batch_size):
        matches = [
            m
            for article in batch
            for m in passed_matches(matcher, feeds.document_for(article), article.id)
        ]
        result.new_matches += match_store.record_scores(
            engine, [a.id for a in batch], matches, now or datetime.now(UTC)
        )
        result.articles += len(batch)
        result.matches.extend(matches)
        if on_batch is not None:
            on_batch(len(batch))
    return result


def score_with(engine: Engine, config: Config, now: datetime | None = None) -> ScoreResult:
    """`score_new_articles` with the config's topics and story window."""
    window = timedelta(seconds=config.stories.window)
    return score_new_articles(engine, compile_topics(config), story_window=window, now=now)


def backtest(
    engine: Engine, topic: Topic, since: datetime
) -> Iterator[tuple[StoredArticle, Match]]:
    """Replay one topic over stored articles published since `since`; writes nothing."""
    matcher = Matcher([topic])
    feeds = FeedBoilerplate(engine)
    for article in match_store.articles_since(engine, since):
        for match in matcher.match(feeds.document_for(article)):
            if match.passed:
                yield article, match


@dataclass(frozen=True, slots=True)
class ArticleNearMiss:
    article: StoredArticle
    near_miss: NearMiss


def near_misses(
    engine: Engine,
    topic: Topic,
    since: datetime,
    *,
    margin: float = NEAR_MISS_MARGIN,
    limit: int | None = None,
) -> list[ArticleNearMiss]:
    """Stored articles published since `since` that the topic nearly caught (see
    `topics.nearmiss`), most promising first, then newest; writes nothing. A disabled topic
    is looked at as if it were enabled."""
    finder = NearMisses(topic, margin=margin)
    feeds = FeedBoilerplate(engine)
    found = []
    for article in match_store.articles_since(engine, since):
        miss = finder(feeds.document_for(article))
        if miss is not None:
            found.append(ArticleNearMiss(article, miss))
    found.sort(key=lambda f: (-f.near_miss.promise, -f.article.published_at.timestamp()))
    return found if limit is None else found[:limit]
