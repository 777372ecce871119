"""Connecting to the database and bringing its schema to the current migration."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import DatabaseError

log = logging.getLogger(__name__)


SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite connection waits for another's write lock
_EXPECTED_URL = "expected sqlite:///PATH or postgresql://USER@HOST/DB"
# What a URL that does not parse may still hide: everything up to its last @.
_CREDENTIALS = re.compile(r"^([a-z0-9+.-]*:?/*).*@", re.IGNORECASE | re.DOTALL)


def connect(url: str) -> Engine:
    """An engine for `url`, checked by connecting once so a wrong URL fails here, clearly."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        hidden = _CREDENTIALS.sub(r"\1***@", url)
        raise DatabaseError(f"not a database URL: {hidden!r} ({_EXPECTED_URL})") from None
    # psycopg 3 is the driver the `postgres` extra installs; postgres:// is libpq's alias.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"{shown}: not a supported database ({_EXPECTED_URL})")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"{shown}: driver {exc.name!r} is not installed (pip install 'newswatch[postgres]')"
        ) from None
    except ArgumentError:  # sqlite://user@host/...: SQLite has no host
        raise DatabaseError(f"not a database URL: {shown!r} ({_EXPECTED_URL})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseError(f"cannot connect to {shown}: {_first_line(exc)}") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets a reader (the alerts DAG, `newswatch feeds`) work while a poll writes.
    _journal_mode_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _journal_mode_wal(cursor: Any) -> None:
    """Two processes switching a new file to WAL at the same instant: one is told "database
    is locked" at once, without the busy timeout's wait (SQLite calls no busy handler there),
    so it waits here instead, as long as the busy timeout would have."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("newswatch_sql") / "migrations"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as exc:  # an unknown or older revision: the user's to fix
            raise DatabaseError(f"cannot upgrade to {revision!r}: {exc}") from None


def downgrade(engine: Engine, revision: str) -> None:
    """Undo the migrations above `revision`."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def open_database(url: str) -> Engine:
    """`connect`, then `ensure_schema`: what every command and job does first."""
    engine = connect(url)
    ensure_schema(engine)
    return engine


def ensure_schema(engine: Engine) -> None:
    """Make sure the schema is current before a command uses it.

    SQLite is the single-user embedded store, so it is upgraded in place. Other databases are
    shared by several processes; upgrading them is a deliberate step (`newswatch db upgrade`).
    """
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, head)
        return
    raise DatabaseError(
        f"the database schema is at revision {current or 'none (empty database)'} but this "
        f"newswatch needs {head}: run `newswatch db upgrade`"
    )


def _upgrade_sqlite(engine: Engine, head: str | None) -> None:
    """Upgrade inside one write transaction taken before looking: two newswatch processes
    starting at once on a new file do not both create the tables; the second waits (up to the
    busy timeout), then finds the schema current. SQLite DDL is transactional, but Python's
    sqlite3 module only opens transactions before DML, so the transaction is ours."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            raise DatabaseError(
                "another newswatch is creating or upgrading the database and did not finish "
                f"within the busy timeout; retry ({_first_line(exc)})"
            ) from None
        try:
            current = MigrationContext.configure(connection).get_current_revision()
            if current != head:
                log.info("upgrading the SQLite schema from %s to %s", current or "empty", head)
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")


def insert_for(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise DatabaseError(
        f"unsupported database {connection.dialect.name!r}: use SQLite or PostgreSQL"
    )
