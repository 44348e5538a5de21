"""Evidence: validate what buyers and merchants upload, and store it content-addressed.

Every name below is imported from its module when it is first named (PEP 562): the decoders
(Pillow, libheif), libmagic and the sandbox are loaded by what validates or stores a file, not
by what only names a kind of evidence or a party (nor by the sandbox's worker, which imports
the decoders it runs).
"""

import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from evidence.context import (
        DisputeContext,
        KnownEvidence,
        OrderItemRef,
        Party,
        PriorEvidence,
        Role,
        context_from_json,
    )
    from evidence.errors import (
        EvidenceError,
        InvalidContext,
        NoSuchObject,
        StoreError,
        UnreadableEvidence,
    )
    from evidence.kinds import ALLOWED_TYPES, EvidenceKind
    from evidence.policy import DEFAULT_POLICY, EvidencePolicy
    from evidence.reasons import Finding, Reason
    from evidence.sandbox import DecoderSandbox, SandboxFailure
    from evidence.store import ContentStore, FilesystemStore, StoredObject
    from evidence.validate import Inspected, inspect, validate
    from evidence.verdict import Fact, Verdict

_WHERE = {
    "evidence.context": (
        "DisputeContext",
        "KnownEvidence",
        "OrderItemRef",
        "Party",
        "PriorEvidence",
        "Role",
        "context_from_json",
    ),
    "evidence.errors": (
        "EvidenceError",
        "InvalidContext",
        "NoSuchObject",
        "StoreError",
        "UnreadableEvidence",
    ),
    "evidence.kinds": ("ALLOWED_TYPES", "EvidenceKind"),
    "evidence.policy": ("DEFAULT_POLICY", "EvidencePolicy"),
    "evidence.reasons": ("Finding", "Reason"),
    "evidence.sandbox": ("DecoderSandbox", "SandboxFailure"),
    "evidence.store": ("ContentStore", "FilesystemStore", "StoredObject"),
    "evidence.validate": ("Inspected", "inspect", "validate"),
    "evidence.verdict": ("Fact", "Verdict"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> _Any:
    """An exported name, imported from its module when first asked for (and kept)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'evidence' has no attribute {name!r}")
    from importlib import import_module

    value = globals()[name] = getattr(import_module(module), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_types.ModuleType):
    """This package. Importing a submodule sets it as an attribute of its package, and
    ``evidence.validate`` is both a submodule and the function it defines: the package's
    ``validate`` stays the function whichever is imported first."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if isinstance(value, _types.ModuleType) and name in _MODULE_OF:
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


__all__ = [
    "ALLOWED_TYPES",
    "DEFAULT_POLICY",
    "ContentStore",
    "DecoderSandbox",
    "DisputeContext",
    "EvidenceError",
    "EvidenceKind",
    "EvidencePolicy",
    "Fact",
    "FilesystemStore",
    "Finding",
    "Inspected",
    "InvalidContext",
    "KnownEvidence",
    "NoSuchObject",
    "OrderItemRef",
    "Party",
    "PriorEvidence",
    "Reason",
    "Role",
    "SandboxFailure",
    "StoreError",
    "StoredObject",
    "UnreadableEvidence",
    "Verdict",
    "context_from_json",
    "inspect",
    "validate",
]
