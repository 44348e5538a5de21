"""Shared fixtures: the real-file corpus beside the repository, and one decoder sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import DEFAULT_POLICY, DecoderSandbox

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
        seconds=DEFAULT_POLICY.decoder_seconds, memory_bytes=DEFAULT_POLICY.decoder_memory_bytes
    )
    yield box
    box.close()


PG_URL_ENV = "ADJUDICATOR_TEST_PG_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind: an SQLite file, and the PostgreSQL server named
    by ADJUDICATOR_TEST_PG_URL (its tables dropped first). Without that variable the
    PostgreSQL case is skipped; with it, an unreachable server fails the test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'disputes.db'}"
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_URL_ENV} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; .ci/run sets it)"
        )
    from sqlmodel import SQLModel, create_engine

    import adjudicator.persistence  # noqa: F401  (registers the tables)

    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()
    return url
