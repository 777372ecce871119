"""Running the web app for real in tests: uvicorn on a free 127.0.0.1 port in a thread, and
Slack interactive requests built and signed the way Slack builds and signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

import uvicorn

from tests.fake_slack import Post

T = TypeVar("T")
SIGNING_SECRET = "8f742231b10e8888abcd99edabcd1234"  # a test secret, shaped like Slack's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a thread; yields its base URL; stops it after."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def eventually(check: Callable[[], T], *, what: str, timeout: float = 20.0) -> T:
    """Wait for work done after a response (Slack clicks are acted on in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def click_payload(
    post: Post,
    action_id: str,
    *,
    user: tuple[str, str] = ("U0ANA1234", "ana"),
    response_url: str = "https://hooks.slack.com/actions/T0NEWS/1/x",
) -> dict[str, Any]:
    """A `block_actions` payload for a click on one of the message's buttons, with the fields
    Slack sends (https://api.slack.com/reference/interaction-payloads/block-actions)."""
    actions = next(b for b in post.payload["blocks"] if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["action_id"] == action_id)
    user_id, name = user
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": "T0NEWS"},
        "api_app_id": "A0NEWSWATCH",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": post.ts,
            "channel_id": post.channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{time.time():.0f}.1234.abcdef",
        "team": {"id": "T0NEWS", "domain": "newsroom"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": post.channel_id, "name": post.channel.lstrip("#")},
        "message": {
            "type": "message",
            "subtype": "bot_message",
            "text": post.payload["text"],
            "ts": post.ts,
            "bot_id": "B0NEWSWATCH",
            "blocks": post.payload["blocks"],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": actions["block_id"],
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                # Unique per click, so even a double click is two differently signed requests.
                "action_ts": f"{time.time():.6f}",
                **({"style": button["style"]} if "style" in button else {}),
            }
        ],
    }


def form_body(payload: dict[str, Any]) -> bytes:
    """Slack posts interactions form-encoded, the JSON in the `payload` field."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's v0 signing: HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def site_for(engine: Any, fake: Any, topics: list[Any], **overrides: Any) -> Any:
    """A Site over this database and these topics, updating messages in the fake Slack."""
    from alerts.interactions import MessageUpdater, RequestCheck
    from pipeline.config import Config
    from web.site import Site

    settings = {
        "config": Config(),
        "engine": engine,
        "topics": {t.id: t for t in topics},
        "slack_check": RequestCheck(SIGNING_SECRET, engine),
        "updater": MessageUpdater(fake.token, base_url=fake.api_url, timeout=2),
        "token": None,
        "user_header": None,
        **overrides,
    }
    return Site(**settings)
