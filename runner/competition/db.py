"""The competition's database: teams, submissions, their folds, phases (SQLAlchemy 2).

SQLite (the embedded default, one file) or PostgreSQL (``--db postgresql://...``), with the
same Alembic migrations on both. Fold *results* are not here: the result store's fold
records stay the source of truth (as for ``airlock run`` and the worker pool); the database
tracks who submitted what, where each fold is, and what counts against a quota.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and read back as aware datetimes on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Submission(Base):
    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    phase: Mapped[str] = mapped_column(String(64), index=True)
    image_id: Mapped[str] = mapped_column(String(80))
    image_ref: Mapped[str] = mapped_column(String(200))
    archive_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    """queued, running, finished, infra_error (every fold failed for the machine)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    counts: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether it counts against the team's quota of the day (refunds set it false)."""
    disqualified: Mapped[bool] = mapped_column(Boolean, default=False)
    logs_released: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped by an organizer's rerun: fold records of earlier attempts are not reused."""
    note: Mapped[str] = mapped_column(Text, default="")


class FoldTask(Base):
    __tablename__ = "folds"

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    bundle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    fold_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, running, done."""
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The fold's verdict once done (ok, timeout, ..., infra_error)."""
    phase_now: Mapped[str | None] = mapped_column(String(16), nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The public fold result (sealed view) once done."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PhaseState(Base):
    __tablename__ = "phases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def make_engine(url: str, *, writer: bool = True) -> Engine:
    """An engine for ``url``. SQLite write transactions take the write lock when they begin
    (``BEGIN IMMEDIATE``): check-then-insert (quotas) is then atomic, as on PostgreSQL with
    the row lock the quota check takes. Reads begin deferred: in WAL mode they run beside
    the one writer instead of queueing behind it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """The engine and a session factory; ``transaction()`` is the only way to change data."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        readers = make_engine(url, writer=False) if url.startswith("sqlite") else self.engine
        self._readers = sessionmaker(readers, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction that may write (SQLite: holds the write lock from its start)."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads (SQLite: beside the writer, never behind it)."""
        with self._readers.begin() as session:
            yield session


def now() -> datetime:
    return datetime.now(UTC)
