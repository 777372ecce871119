"""A fake Slack Web API and incoming-webhook server on 127.0.0.1 for the real slack_sdk client.

It checks the bot token, records every request, keeps channel history (with message metadata)
for chat.postMessage / chat.update / conversations.history / conversations.list, takes
interactive responses at its `response_url`, validates every message against Slack's
documented Block Kit limits, and can be told to answer the next requests (to any channel, or to
one) with a 429 and Retry-After, a 5xx, an error code, or to hang (optionally after accepting the
post, which is the case where the client cannot know whether the message arrived), or to go down
(connections refused) and come back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image", "rich_text"}


def block_kit_violations(payload: dict[str, Any]) -> list[str]:
    """What Slack would reject or truncate in a chat.postMessage / webhook payload."""
    problems = []
    text, blocks = payload.get("text"), payload.get("blocks")
    if not text or not isinstance(text, str):
        problems.append("no top-level text fallback")
    elif len(text) > 40_000:
        problems.append("text over 40,000 characters")
    if blocks is None:
        return problems
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return [*problems, f"blocks must be a list of 1-50, got {len(blocks or [])}"]
    for index, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{index}] ({kind})"
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}: unknown block type")
        elif kind == "header":
            element = block.get("text") or {}
            if element.get("type") != "plain_text" or not element.get("text"):
                problems.append(f"{where}: needs plain_text text")
            elif len(element["text"]) > 150:
                problems.append(f"{where}: text over 150 characters")
        elif kind == "section":
            element = block.get("text") or {}
            if element.get("type") not in ("mrkdwn", "plain_text") or not element.get("text"):
                problems.append(f"{where}: needs a text object")
            elif len(element["text"]) > 3000:
                problems.append(f"{where}: text over 3000 characters")
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: needs 1-10 elements")
            for element in elements:
                if (
                    element.get("type") in ("mrkdwn", "plain_text")
                    and len(element.get("text", "")) > 3000
                ):
                    problems.append(f"{where}: element text over 3000 characters")
        elif kind == "actions":
            problems += [f"{where}: {p}" for p in _actions_violations(block)]
    return problems


def _actions_violations(block: dict[str, Any]) -> list[str]:
    elements = block.get("elements") or []
    problems = [] if 1 <= len(elements) <= 25 else ["needs 1-25 elements"]
    action_ids = [e.get("action_id") for e in elements]
    if len(set(action_ids)) != len(action_ids):
        problems.append("action_ids must be unique in a block")
    for element in elements:
        if element.get("type") != "button":
            continue
        text = (element.get("text") or {}).get("text", "")
        if (element.get("text") or {}).get("type") != "plain_text" or not 1 <= len(text) <= 75:
            problems.append(f"button {element.get('action_id')}: text must be 1-75 plain_text")
        if len(element.get("value", "")) > 2000:
            problems.append(f"button {element.get('action_id')}: value over 2000 characters")
        if len(element.get("url", "")) > 3000:
            problems.append(f"button {element.get('action_id')}: url over 3000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"button {element.get('action_id')}: unknown style")
    return problems


@dataclass
class Post:
    channel: str
    channel_id: str
    ts: str
    payload: dict[str, Any]


@dataclass
class FakeSlack:
    token: str = "xoxb-test-token-1234567890"
    webhook_path: str = "/services/T000/B000/secretwebhookpath"
    app_token: str = "xapp-1-A0NEWSWATCH-1234567890-abcdef"  # Socket Mode's app-level token
    socket_url: str | None = None  # what apps.connections.open hands out (fake_socket_mode)
    channels: dict[str, str] = field(
        default_factory=lambda: {
            "defence-watch": "C0DEFENCE1",
            "elections": "C0ELECTNS2",
            "news": "C0NEWSNEWS",
            "archived": "C0ARCHIVD3",
        }
    )
    posts: list[Post] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # chat.update and response_url
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _script: list[tuple[str, str, float, str | None]] = field(default_factory=list)
    _held: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_ts: float = 0.0
    server: ThreadingHTTPServer | None = None
    port: int = 0

    # -- test controls -------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        kind: str,
        count: int = 1,
        value: float = 0.0,
        *,
        channel: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` ("chat.postMessage", "webhook", ...), or
        only those for `channel` (a name or an id), with `kind`: "429" (Retry-After `value`),
        "500", "hang" (for `value` seconds), "hang_after_post" (accept the post, then hang), or a
        Slack error code."""
        channel_id = self._resolve(channel) if channel else None
        with self._lock:
            self._script += [(method, kind, value, channel_id)] * count

    def hold(self, method: str) -> threading.Event:
        """Keep calls of `method` waiting (received, not answered) until the returned event is
        set, so a test can see what its caller does meanwhile."""
        release = self._held[method] = threading.Event()
        return release

    def go_down(self) -> None:
        """Stop listening: every request is refused until `come_back`."""
        assert self.server is not None
        self.port = self.server.server_address[1]
        stop(self)

    def come_back(self) -> None:
        start(self, self.port)

    def requests_to(self, method: str, channel_id: str) -> int:
        return sum(
            1
            for name, body, _ in self.requests
            if name == method and self._resolve(str(body.get("channel", ""))) == channel_id
        )

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def response_url(self) -> str:
        """Where interactive payloads tell the app to respond (Slack's hooks.slack.com/actions)."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/actions/T000/1/responsesecret"

    def post_at(self, channel_id: str, ts: str) -> Post | None:
        return next((p for p in self.posts if p.channel_id == channel_id and p.ts == ts), None)

    @property
    def webhook_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.webhook_path}"

    def posts_to(self, channel_id: str) -> list[Post]:
        return [p for p in self.posts if p.channel_id == channel_id]

    # -- behaviour -----------------------------------------------------------------------
    def _next_failure(self, method: str, channel: str) -> tuple[str, float] | None:
        channel_id = self._resolve(channel)
        with self._lock:
            for index, (name, kind, value, only) in enumerate(self._script):
                if name == method and only in (None, channel_id):
                    del self._script[index]
                    return kind, value
        return None

    def _resolve(self, channel: str) -> str | None:
        if channel in self.channels.values():
            return channel
        return self.channels.get(channel.lstrip("#"))

    def _post(self, channel: str, payload: dict[str, Any]) -> Post:
        with self._lock:
            # Like Slack's: epoch seconds with microseconds, unique per message.
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            post = Post(channel, self._resolve(channel) or "?", f"{self._last_ts:.6f}", payload)
            self.posts.append(post)
            self.violations += [
                f"post {len(self.posts)}: {v}" for v in block_kit_violations(payload)
            ]
            return post

    def handle(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        method = "webhook" if path == self.webhook_path else path.removeprefix("/api/")
        with self._lock:
            self.requests.append((method, body, headers))
        held = self._held.get(method)
        if held is not None:
            held.wait(timeout=60)
        failure = self._next_failure(method, str(body.get("channel", "")))
        if failure is not None:
            kind, value = failure
            if kind == "429":
                return 429, {"Retry-After": str(int(value))}, {"ok": False, "error": "ratelimited"}
            if kind == "500":
                return 500, {}, "<html>internal error</html>"
            if kind == "hang":
                time.sleep(value)
                return 500, {}, "too late"
            if kind == "hang_after_post":
                self._post(str(body.get("channel", "webhook")), body)
                time.sleep(value)
                return 500, {}, "too late"
            if method == "webhook":
                return int(kind), {}, "no_service" if kind == "404" else "error"
            return 200, {}, {"ok": False, "error": kind}
        if method == "webhook":
            self._post("webhook", body)
            return 200, {}, "ok"
        if path.startswith("/actions/"):
            return self._respond(body)
        if method == "apps.connections.open":
            if headers.get("authorization") != f"Bearer {self.app_token}" or not self.socket_url:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "url": self.socket_url}
        if path == "/api/" + method and headers.get("authorization") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if method == "chat.postMessage":
            channel_id = self._resolve(str(body.get("channel", "")))
            if channel_id is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            if channel_id == self.channels["archived"]:
                return 200, {}, {"ok": False, "error": "is_archived"}
            post = self._post(str(body["channel"]), body)
            return 200, {}, {"ok": True, "channel": channel_id, "ts": post.ts}
        if method == "chat.update":
            return self._update(body)
        if method == "conversations.history":
            channel_id = body.get("channel")
            oldest = float(body.get("oldest", "0") or 0)
            with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
            messages = [
                {
                    "type": "message",
                    "ts": p.ts,
                    "text": p.payload.get("text"),
                    **(
                        {"metadata": p.payload["metadata"]}
                        if with_metadata and "metadata" in p.payload
                        else {}
                    ),
                }
                for p in reversed(self.posts)
                if p.channel_id == channel_id and float(p.ts) >= oldest
            ]
            return 200, {}, {"ok": True, "messages": messages, "has_more": False}
        if method == "conversations.list":
            channels = [{"id": cid, "name": name} for name, cid in self.channels.items()]
            return (
                200,
                {},
                {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}},
            )
        return 404, {}, {"ok": False, "error": "unknown_method"}

    def _update(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """chat.update: replace a posted message's text and blocks, in place."""
        channel_id = self._resolve(str(body.get("channel", "")))
        post = self.post_at(channel_id or "", str(body.get("ts", "")))
        if post is None:
            return 200, {}, {"ok": False, "error": "message_not_found"}
        return self._replace(post, body, {"ok": True, "channel": post.channel_id, "ts": post.ts})

    def _respond(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """A response_url post with replace_original: the message the click came from is
        replaced (the fake knows it as the latest post; Slack knows it from the URL)."""
        if not body.get("replace_original") or not self.posts:
            return 404, {}, "no_such_message"
        return self._replace(self.posts[-1], body, "ok")

    def _replace(self, post: Post, body: dict[str, Any], answer: Any) -> tuple[int, dict, Any]:
        with self._lock:
            payload = {k: v for k, v in body.items() if k in ("text", "blocks", "metadata")}
            if isinstance(payload.get("blocks"), str):
                payload["blocks"] = json.loads(payload["blocks"])
            if isinstance(payload.get("metadata"), str):
                payload["metadata"] = json.loads(payload["metadata"])
            post.payload = {**post.payload, **payload}
            self.updates.append({"channel": post.channel_id, "ts": post.ts, **payload})
            self.violations += [f"update of {post.ts}: {v}" for v in block_kit_violations(payload)]
        return 200, {}, answer


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        kind = self.headers.get("Content-Type", "")
        if "json" in kind:
            body = json.loads(raw or "{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.fake.handle(path, body, headers)
        data = payload if isinstance(payload, str) else json.dumps(payload)
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header(
                "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
            )
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a hang test)
            pass

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


def start(fake: FakeSlack, port: int = 0) -> FakeSlack:
    handler = type("Handler", (_Handler,), {"fake": fake})
    fake.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    fake.server.daemon_threads = True
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake


def stop(fake: FakeSlack) -> None:
    if fake.server is not None:
        fake.server.shutdown()
        fake.server.server_close()
        fake.server = None
