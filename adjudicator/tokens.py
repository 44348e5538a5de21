"""API tokens and their roles (the HTTP API's access control).

A token is ``<id>.<secret>``: the id is public (it is what the decision log records of a
command made with the token), the secret 32 random bytes, URL-safe. The database keeps the id,
the role and the SHA-256 of the whole token, never the token: :func:`create` returns it once.
High-entropy secrets need no slow hash; the comparison takes constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine
from sqlmodel import Session

from adjudicator.errors import UsageError
from adjudicator.persistence import TokenRow

_TOKEN = re.compile(r"(t_[0-9a-f]{8})\.([A-Za-z0-9_-]{43})")


class Role(StrEnum):
    """What a token may do: ``host`` every command and read but a platform decision or
    finding; ``reviewer`` the reads, ``decide`` and ``finding``; ``auditor`` the log only."""

    HOST = "host"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's id and role."""

    token_id: str
    role: Role


def create(engine: Engine, role: Role | str, *, at: datetime, label: str | None = None) -> str:
    """A new token of ``role``, stored by its hash; the token itself is returned once."""
    try:
        role = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise UsageError(f"--role {role}: a token's role is one of {known}") from None
    token_id = f"t_{secrets.token_hex(4)}"
    token = f"{token_id}.{secrets.token_urlsafe(32)}"
    with Session(engine) as session, session.begin():
        session.add(
            TokenRow(
                id=token_id,
                role=role.value,
                digest=_digest(token),
                label=label,
                created_at=at.isoformat(),
            )
        )
    return token


def verify(engine: Engine, token: str) -> Caller | None:
    """The caller a token stands for, or None for anything that is not a stored token."""
    found = _TOKEN.fullmatch(token)
    if found is None:
        return None
    with Session(engine) as session:
        row = session.get(TokenRow, found[1])
    if row is None or not hmac.compare_digest(row.digest, _digest(token)):
        return None
    return Caller(row.id, Role(row.role))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()
