"""`newswatch serve` (the pages and the Slack endpoint) and `newswatch labels export`."""

from __future__ import annotations

import csv
import ipaddress
import itertools
import json
import socket
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..errors import NewswatchError
from .app import (
    ConfigOption,
    DatabaseOption,
    VerboseOption,
    app,
    err,
    error_line,
    handles_errors,
    load,
    setup_logging,
)

labels_app = typer.Typer(help="Labels people gave to matches.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


@app.command("serve")
@handles_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to bind (default web.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port, 8765).")] = None,
    socket_mode: Annotated[
        bool,
        typer.Option(
            "--socket-mode",
            help="Also take the buttons' clicks over Slack's Socket Mode (no public URL "
            "needed; slack.app_token / SLACK_APP_TOKEN).",
        ),
    ] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Serve the pages (topics, matches, explanations, labels, feeds) and the Slack buttons'
    endpoint POST /slack/interactions."""
    import uvicorn

    from web.app import create_app
    from web.site import listen_over_socket_mode, open_site

    setup_logging(verbose)
    site = open_site(config, database_url)  # a bad config or an old schema stops here
    settings = site.config
    bind = host or settings.web.host
    if site.token is None and not _loopback(bind):
        err.print(
            error_line(
                "warning:",
                f"serving on {bind} without web.token / NEWSWATCH_WEB_TOKEN: "
                "anyone who can reach it can read the pages and give labels",
                style="yellow",
            )
        )
    if site.slack_check is None and not socket_mode:
        err.print(
            "note: no slack.signing_secret / SLACK_SIGNING_SECRET: Slack button clicks "
            "will be refused"
        )
    port = settings.web.port if port is None else port
    _check_free(bind, port)
    listener = listen_over_socket_mode(site) if socket_mode else None
    shown = f"[{bind}]" if ":" in bind else bind  # an IPv6 address in a URL
    where = f"http://{shown}:{port}/" if port else f"a free port of {bind} (-v says which)"
    err.print(f"serving the pages on {where} (Ctrl-C stops)", highlight=False)
    try:
        uvicorn.run(
            create_app(site),
            host=bind,
            port=port,
            log_level="info" if verbose else "warning",
            proxy_headers=True,
        )
    finally:
        if listener is not None:
            listener.close()


def _check_free(host: str, port: int) -> None:
    """A port already taken is one line here, not uvicorn's log line and exit status 3."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn picks it
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as exc:
        raise NewswatchError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@labels_app.command("export")
@handles_errors
def export_command(
    output_format: Annotated[
        Literal["csv", "jsonl"], typer.Option("--format", help="csv or jsonl.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic's labels.")] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Every label (topic, article, label, who, when, title, URL, feed, score), newest first,
    for evaluating and tuning topics."""
    from ..store.labels import LabelLine, label_lines

    settings, engine = load(config, database_url, verbose)
    lines = label_lines(engine, topic_id=topic)
    configured = [t.id for t in settings.topics]
    if topic is not None and topic not in configured:
        first = next(lines, None)  # a topic since removed from the config may still have labels
        if first is None:
            raise NewswatchError(
                f"no topic {topic!r} in the config and no labels for it "
                f"(topics: {', '.join(configured) or 'none'})"
            )
        lines = itertools.chain([first], lines)
    try:
        stream = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    except OSError as exc:
        raise NewswatchError(f"{output}: cannot write: {exc.strerror}") from None
    count = 0
    try:
        columns = list(LabelLine.__dataclass_fields__)
        writer = csv.DictWriter(stream, columns) if output_format == "csv" else None
        if writer is not None:
            writer.writeheader()
        for line in lines:
            record = line.as_record()
            if writer is not None:
                writer.writerow(record)
            else:
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output:
            stream.close()
    err.print(f"{count} label(s) exported{f' to {output}' if output else ''}", highlight=False)
