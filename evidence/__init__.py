"""Evidence: validate what buyers and merchants upload, and store it content-addressed."""

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
