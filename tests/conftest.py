"""Shared fixtures: the real-file corpus beside the repository, and one decoder sandbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import DEFAULT_POLICY, DecoderSandbox
from evidence.sandbox import DECODER_MODULES

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("ADJUDICATOR_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared evidence corpus is not at {CORPUS} (set ADJUDICATOR_CORPUS)")
    return CORPUS


@pytest.fixture(scope="session")
def sandbox() -> Iterator[DecoderSandbox]:
    box = DecoderSandbox(
        seconds=DEFAULT_POLICY.decoder_seconds,
        memory_bytes=DEFAULT_POLICY.decoder_memory_bytes,
        preload=DECODER_MODULES,  # as validate's own sandbox: imports are not decoding
    )
    yield box
    box.close()


PG_URL_ENV = "ADJUDICATOR_TEST_PG_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind: an SQLite file, and a schema of its own on the
    PostgreSQL server named by ADJUDICATOR_TEST_PG_URL (dropped afterwards), so test runs
    sharing that server never see each other's tables. Without that variable the PostgreSQL
    case is skipped; with it, an unreachable server fails the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'disputes.db'}"
        return
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_ENV} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; .ci/run sets it)"
        )
    yield from pg_schema(url)


def pg_schema(url: str) -> Iterator[str]:
    """``url`` pointed at a new, empty schema (its search_path), which is dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
