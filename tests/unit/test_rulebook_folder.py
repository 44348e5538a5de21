"""The built-in rulebooks are read from the package's folder as files, and through
importlib.resources where the package is no folder (a zipped install): the same rulebooks."""

from __future__ import annotations

from importlib import resources

import pytest

from adjudicator import rulebook
from adjudicator.rulebook import BUILTIN, archived_versions, load_rulebook


def test_the_folder_and_importlib_resources_give_the_same_rulebooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = {
        (name, version): load_rulebook(name, version=version).digest
        for name in BUILTIN
        for version in (None, *archived_versions(name))
    }
    folder = rulebook._builtin_folder()
    assert folder == resources.files("adjudicator") / "rulebooks"

    class NotAFolder(type(folder)):  # type: ignore[misc]
        def is_dir(self) -> bool:
            return False

    asked: list[str] = []
    files = resources.files

    def counted(package: str) -> object:
        asked.append(package)
        return files(package)

    monkeypatch.setattr(rulebook, "Path", NotAFolder)
    monkeypatch.setattr(resources, "files", counted)
    assert {
        (name, version): load_rulebook(name, version=version).digest
        for name in BUILTIN
        for version in (None, *archived_versions(name))
    } == read
    assert asked  # through importlib.resources
