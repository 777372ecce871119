"""`newswatch topics`: check, explain, backtest and near misses of watch topics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..errors import ConfigError, NewswatchError
from .app import (
    ConfigOption,
    DatabaseOption,
    VerboseOption,
    ago,
    app,
    handles_errors,
    load,
    out,
    setup_logging,
    styled,
)

if TYPE_CHECKING:
    from ..topics import Document, Match, Topic

# The default of `near-misses --margin`, written out so that the command's help needs no import
# of the matcher; tests/test_cli_startup.py checks it equals pipeline.topics.NEAR_MISS_MARGIN.
DEFAULT_MARGIN = 0.15

topics_app = typer.Typer(
    help="Watch topics: check, explain, backtest, near misses.", no_args_is_help=True
)
app.add_typer(topics_app, name="topics")


@topics_app.command("check")
@handles_errors
def check_command(config: ConfigOption = None, verbose: VerboseOption = 0) -> None:
    """Validate every topic, print each as it was understood and where its alerts would go.
    Exits 1 when `run` could not deliver them: a Slack credential of the wrong form, or a bot
    token with an enabled topic that has no channel."""
    from alerts.credentials import (
        slack_channel,
        slack_token,
        slack_webhook,
        token_problem,
        webhook_problem,
    )

    from ..config import compile_topics, load_config

    setup_logging(verbose)
    settings = load_config(config).config
    topics = compile_topics(settings)
    if not topics:
        out.print("no topics configured")
        return
    token_key, token = slack_token(settings)
    webhook_key, webhook = slack_webhook(settings)
    # What `run` would say is wrong with the credential it uses (never its value).
    if token:
        wrong = token_problem(token)
    elif webhook:
        wrong = webhook_problem(webhook, settings.slack.api_url)
    else:
        wrong = None
    problems: list[str] = [f"{token_key or webhook_key}: {wrong}"] if wrong else []
    if token and not wrong:
        unrouted = [t.id for t in topics if t.enabled and not slack_channel(settings, t)]
        if unrouted:
            problems.append(
                f"topics {', '.join(unrouted)} have no slack.channel and slack.default_channel "
                "is not set: with a bot token `run` stops until they have one"
            )

    def destination(topic: Topic) -> str:
        """Where `run` would send the topic's alerts, with the credentials set now."""
        if wrong:
            return f"nowhere: {token_key or webhook_key} is not usable; alerts wait in the outbox"
        channel = slack_channel(settings, topic)
        if token and channel:
            return f"Slack {channel} ({token_key})"
        if token:
            return f"nowhere: {token_key} is set but the topic has no slack.channel and no default"
        if webhook:
            return f"the incoming webhook's channel ({webhook_key})"
        return "the terminal (no Slack credential)"

    for topic in topics:
        state = ("", "") if topic.enabled else (" (disabled)", "yellow")
        out.print(styled((topic.id, "bold"), f": {topic.name}", state))
        out.print(f"  query:     {topic.query}", soft_wrap=True)
        if topic.exclude is not None:
            out.print(f"  exclude:   {topic.exclude}", soft_wrap=True)
        out.print(f"  threshold: {topic.threshold}")
        out.print(f"  alerts to: {destination(topic)}")
    if problems:
        raise ConfigError(f"{len(topics)} topic(s) understood, but " + "; ".join(problems))
    out.print(f"{len(topics)} topic(s) OK")


def _topic(topics: list[Topic], topic_id: str) -> Topic:
    for topic in topics:
        if topic.id == topic_id:
            return topic
    known = ", ".join(t.id for t in topics) or "none"
    raise ConfigError(f"no topic {topic_id!r} (known: {known})")


@topics_app.command("explain")
@handles_errors
def explain_command(
    topic_id: Annotated[str, typer.Argument(metavar="TOPIC", help="The topic's id.")],
    text: Annotated[str | None, typer.Option(help="Text to score (as an article title).")] = None,
    article: Annotated[int | None, typer.Option(help="A stored article's id.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="A text file: first line is the title, the rest the body.")
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Print a topic's score for a text, a stored article or a file, and why."""
    from .. import store
    from ..config import compile_topics, load_config
    from ..score import document_for
    from ..topics import Matcher

    if sum(x is not None for x in (text, article, file)) != 1:
        raise typer.BadParameter("give exactly one of --text, --article or --file")
    if article is not None:
        settings, engine = load(config, database_url, verbose)
        stored = store.get_article(engine, article)
        if stored is None:
            raise NewswatchError(f"no stored article with id {article}")
        document = document_for(engine, stored)
    else:
        setup_logging(verbose)
        settings = load_config(config).config
        document = _document(text, file)
    topic = _topic(compile_topics(settings), topic_id)
    print_explanation(Matcher([topic]).explain(topic.id, document), document)


def _document(text: str | None, file: Path | None) -> Document:
    from ..topics import Document

    if text is not None:
        return Document(text)
    assert file is not None
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NewswatchError(f"{file}: cannot read: {exc.strerror}") from None
    title = next((line.strip() for line in lines if line.strip()), "")
    body = " ".join(line.strip() for line in lines[lines.index(title) + 1 :] if line.strip())
    return Document(title, "", body) if title else Document("")


def print_explanation(match: Match, document: Document) -> None:
    """The verdict, then each clause with its evidence, each term with what it was matched by
    (its stems), the words found, where, and what each mention weighed."""
    topic = match.topic
    verdict = ("PASSES", "green") if match.passed else ("does not pass", "red")
    out.print(styled((topic.id, "bold"), f" on {document.title[:80]!r}"))
    out.print(styled(f"  score {match.score:.3f} (threshold {topic.threshold}) ", verdict))
    explanation = match.explanation
    assert explanation is not None  # Matcher.explain always explains
    if not match.matched and explanation.excluded_by:
        terms = ", ".join(f"{h.term} in {h.field}" for h in explanation.excluded_by)
        out.print(f"  excluded by: {terms}")
    if explanation.combined:
        out.print(
            "  score = geometric mean of the clauses' evidence × closeness "
            f"{explanation.together:.2f}"
        )
    for clause in explanation.clauses:
        mark = ("✓", "green") if clause.matched else ("✗", "red")
        evidence = "" if clause.clause.startswith("NOT ") else f"evidence {clause.evidence:.2f}  "
        out.print(styled("  ", mark, f" {evidence}{clause.clause}"), soft_wrap=True)
        for hit in clause.hits:
            mentions = ", ".join(
                f"{word!r} at {a}-{b} ×{weight:.2f}"
                for word, (a, b), weight in zip(hit.words, hit.offsets, hit.weights, strict=True)
            )
            out.print(
                styled(
                    f"      {hit.term} ",
                    (f"(matched by {hit.analyzed})", "dim"),
                    f" in {hit.field}: {mentions}",
                ),
                soft_wrap=True,
            )
    snippet = explanation.snippet
    if snippet is not None:
        marked: list[str | tuple[str, str]] = [f"  {snippet.field}: "]
        last = 0
        for start, end in snippet.highlights:
            marked += [snippet.text[last:start], (snippet.text[start:end], "bold yellow")]
            last = end
        marked.append(snippet.text[last:])
        out.print(styled(*marked), soft_wrap=True)


@topics_app.command("backtest")
@handles_errors
def backtest_command(
    topic_id: Annotated[str, typer.Argument(metavar="TOPIC", help="The topic's id.")],
    since: Annotated[str, typer.Option(help="How far back: 30d, 12h, ...")] = "30d",
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Replay a topic over stored articles and list what would have matched. Sends nothing."""
    from ..config import compile_topics
    from ..score import backtest

    start = ago(since)
    settings, engine = load(config, database_url, verbose)
    topic = _topic(compile_topics(settings), topic_id)
    table = Table(
        title=f"{topic.id}: would have matched since {start:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for column in ("article", "published", "feed", "score", "title", "why"):
        table.add_column(column)
    count = 0
    for article, match in backtest(engine, topic, start):
        count += 1
        table.add_row(
            str(article.id),
            f"{article.published_at:%Y-%m-%d %H:%M}",
            article.feed_name,
            f"{match.score:.2f}",
            article.title,
            ", ".join(match.explanation.matched_terms if match.explanation else []),
        )
    out.print(table)
    out.print(f"{count} article(s) would have matched; nothing was stored or sent")


@topics_app.command("near-misses")
@handles_errors
def near_misses_command(
    topic_id: Annotated[str, typer.Argument(metavar="TOPIC", help="The topic's id.")],
    since: Annotated[str, typer.Option(help="How far back: 7d, 12h, ...")] = "7d",
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
    margin: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="How far under the threshold still counts.")
    ] = DEFAULT_MARGIN,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Stored articles the topic nearly caught: all clauses but one held, the score fell just
    short, or the exclusion vetoed it. Most promising first, with what was missing."""
    from ..config import compile_topics
    from ..score import near_misses

    start = ago(since)
    settings, engine = load(config, database_url, verbose)
    topic = _topic(compile_topics(settings), topic_id)
    with out.status(styled(f"Looking for near misses of {topic.id}…")):
        found = near_misses(engine, topic, start, margin=margin)
    table = Table(
        title=f"{topic.id}: near misses since {start:%Y-%m-%d %H:%M} UTC", title_justify="left"
    )
    for column in ("article", "published", "feed", "score", "promise", "title", "what was missing"):
        table.add_column(column)
    for item in found[:limit]:
        article, miss = item.article, item.near_miss
        table.add_row(
            str(article.id),
            f"{article.published_at:%Y-%m-%d %H:%M}",
            article.feed_name,
            f"{miss.match.score:.2f}",
            f"{miss.promise:.2f}",
            article.title,
            miss.why,
        )
    out.print(table)
    shown = f"{min(limit, len(found))} shown" if len(found) > limit else "all shown"
    out.print(
        f"{len(found)} near miss(es) ({shown}); "
        f"`newswatch topics explain {topic.id} --article ID` shows one in full"
    )
