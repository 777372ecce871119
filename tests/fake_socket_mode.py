"""Slack's Socket Mode end, faked on 127.0.0.1: a WebSocket server (the `websockets` library)
that greets a client with "hello" as Slack does, delivers envelopes and records the acks.
`apps.connections.open` on the fake Web API (tests/fake_slack.py) hands out its URL."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


@dataclass
class FakeSocketMode:
    acks: list[str] = field(default_factory=list)  # envelope ids, as acknowledged
    connections: list[ServerConnection] = field(default_factory=list)
    server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=t-1"

    def connected(self) -> bool:
        return bool(self.connections)

    def deliver(self, payload: dict[str, Any], kind: str = "interactive") -> str:
        """Send an envelope to the newest connection, as Slack does; returns its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": False,
        }
        self.connections[-1].send(json.dumps(envelope))
        return envelope_id

    def _session(self, connection: ServerConnection) -> None:
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0NEWSWATCH"},
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                }
            )
        )
        self.connections.append(connection)
        try:
            for message in connection:
                ack = json.loads(message)
                if "envelope_id" in ack:
                    self.acks.append(ack["envelope_id"])
        except ConnectionClosed:
            pass


def start(fake: FakeSocketMode) -> FakeSocketMode:
    fake.server = serve(fake._session, "127.0.0.1", 0, compression=None)
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake


def stop(fake: FakeSocketMode) -> None:
    if fake.server is not None:
        fake.server.shutdown()
