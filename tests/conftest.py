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
