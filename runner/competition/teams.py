"""Teams and tokens. A token is shown once, when it is made; only its SHA-256 is stored
(tokens are 32 random bytes, so a plain hash is enough: there is nothing to guess)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from runner.competition.db import Database, Setting, Team, now
from runner.errors import UsageError

ORGANIZER_SETTING = "organizer_token_hash"


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    created_at: datetime
    revoked: bool


def add_team(db: Database, name: str) -> str:
    """Create a team; returns its token (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise UsageError(f"team name {name!r}: 1 to 100 printable characters")
    token = new_token("team")
    with db.transaction() as session:
        if session.scalar(select(Team).where(Team.name == name)) is not None:
            raise UsageError(f"team {name!r} exists already (revoke it first to reissue)")
        session.add(Team(name=name, token_hash=token_hash(token), created_at=now()))
    return token


def list_teams(db: Database) -> list[TeamView]:
    with db.read() as session:
        return [
            TeamView(t.id, t.name, t.created_at, t.revoked_at is not None)
            for t in session.scalars(select(Team).order_by(Team.name))
        ]


def revoke_team(db: Database, name: str) -> None:
    with db.transaction() as session:
        team = session.scalar(select(Team).where(Team.name == name))
        if team is None:
            raise UsageError(f"no team {name!r}")
        team.revoked_at = now()
        team.token_hash = f"revoked:{team.id}:{secrets.token_hex(8)}"[:64]


def rotate_organizer_token(db: Database) -> str:
    token = new_token("org")
    with db.transaction() as session:
        setting = session.get(Setting, ORGANIZER_SETTING)
        if setting is None:
            session.add(Setting(key=ORGANIZER_SETTING, value=token_hash(token)))
        else:
            setting.value = token_hash(token)
    return token


def team_for(db: Database, token: str) -> Team | None:
    with db.read() as session:
        return session.scalar(
            select(Team).where(Team.token_hash == token_hash(token), Team.revoked_at.is_(None))
        )


def is_organizer(db: Database, token: str) -> bool:
    with db.read() as session:
        setting = session.get(Setting, ORGANIZER_SETTING)
    return setting is not None and hmac.compare_digest(setting.value, token_hash(token))
