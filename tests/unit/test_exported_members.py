"""The public API is what ``__all__`` says, and everything it names exists."""

from __future__ import annotations

import types

import pytest

import adjudicator
import evidence


@pytest.mark.parametrize("package", [adjudicator, evidence])
def test_all_is_complete_and_importable(package: types.ModuleType) -> None:
    names = package.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(package, name), name
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(names)
