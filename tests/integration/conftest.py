"""The service on each kind of database (see ``db_url`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adjudicator.service import Adjudicator


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Adjudicator]:
    svc = Adjudicator.from_url(db_url, evidence_dir=tmp_path / "store")
    yield svc
    svc.close()
