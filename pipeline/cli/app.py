"""The `newswatch` command: a thin layer over the library.

Every command takes `--config`, `--database-url` and `-v`. Exit status is non-zero only when
the run itself cannot proceed (bad config, unreachable database) or alerts cannot be sent
(a Slack credential of the wrong form); one failing feed is reported in the summary, not by the
exit status.

Output is text, never rich markup: feed text (titles, names, errors quoting a feed) and config
text (the topic id pattern `[a-z0-9]...`) print as they are. The consoles below interpret no
markup or emoji, and strip control and bidirectional-formatting characters; styles are added
only with `styled`.

Start-up: the command modules import only typer, rich's console (typer's help needs it anyway)
and light modules of their own; the database, HTTP, parsing, Slack and web stacks are imported
inside the commands that use them, so `newswatch --help` and small commands start quickly
(tests/test_cli_startup.py keeps it so).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from .. import __version__
from ..errors import NewswatchError
from ..text import printable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..config import Config

app = typer.Typer(
    help="Watch news feeds for the events your team cares about.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class TextConsole(Console):
    """A console for untrusted text: strings print literally (no markup, no emoji codes, no
    highlighting) and without control or bidi characters, whether printed or in a table."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        options.update(markup=False, emoji=False)
        return super().render_str(printable(text), **options)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line from plain parts and (text, style) parts, every part taken literally."""
    return Text.assemble(
        *(
            (printable(part[0]), part[1]) if isinstance(part, tuple) else printable(part)
            for part in parts
        )
    )


def error_line(kind: str, *parts: str, style: str = "bold red") -> Text:
    """ "error: what went wrong" with the kind in colour."""
    return styled((kind, style), " ", *parts)


# Wide enough for the tables when output goes to a file or a CI log rather than a terminal.
out = TextConsole(width=None if sys.stdout.isatty() else 160)
err = TextConsole(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="newswatch.yaml (default: $NEWSWATCH_CONFIG or ./newswatch.yaml)"
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides database.url and $NEWSWATCH_DATABASE_URL."),
]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="-v for progress logs, -vv for debug.")
]

F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(function: F) -> F:
    """Turn a `NewswatchError` into one red line and exit status 1, not a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except NewswatchError as error:
            err.print(error_line("error:", str(error)), soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def ago(value: str, option: str = "--since") -> datetime:
    """ "30d", "12h": the moment that long ago (UTC); a bad value is a usage error."""
    from ..config import parse_duration

    try:
        seconds = parse_duration(value)
        return datetime.now(UTC) - timedelta(seconds=seconds)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    except OverflowError:
        raise typer.BadParameter(f"{value!r} is too far back", param_hint=option) from None


def setup_logging(verbose: int) -> None:
    from ..redact import scrub_logs
    from .logs import TextLogHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[TextLogHandler(console=err, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    scrub_logs()  # proxy URLs from the environment carry credentials; libraries log them
    if verbose < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def load(config_path: Path | None, database_url: str | None, verbose: int) -> tuple[Config, Engine]:
    from .. import store
    from ..config import database_url as resolve_database_url
    from ..config import load_config

    setup_logging(verbose)
    config = load_config(config_path).config
    return config, store.open_database(resolve_database_url(config, database_url))


def _print_version(asked: bool) -> None:
    if asked:
        out.print(f"newswatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version.",
            callback=_print_version,
            is_eager=True,  # before the check that a command was given
        ),
    ] = False,
) -> None:
    pass
