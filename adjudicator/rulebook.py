"""Rulebooks: versioned TOML data files, layered, checked when they load (RULES.md section 1).

A rulebook file has ``id``, ``version``, ``claim_types``, an optional ``extends`` (the id of
the rulebook below it) and ``rules``: a table keyed by stable rule id, each rule a table whose
``kind`` says what it is. An overlay's rule replaces the rule with the same id below it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
import tomllib
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from adjudicator.domain import (
    CATEGORIES,
    REMEDIES,
    Claim,
    ClaimType,
    EvidenceRecord,
    Liability,
    Order,
    PlatformFinding,
    Remedy,
)
from adjudicator.errors import RulebookError as RulebookError  # noqa: PLC0414 (re-exported)
from evidence import DEFAULT_POLICY, EvidenceKind, EvidencePolicy, Party
from evidence.policy import MIB

BUILTIN = ("kuaishou.general", "kuaishou.used_3c")
RULEBOOK_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)
"""What a rulebook id looks like (``kuaishou.used_3c``): never a path."""
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}", re.ASCII)
MAX_RULEBOOK_BYTES = 1024 * 1024
MAX_DEADLINE = timedelta(days=3660)  # no deadline of the rules comes near ten years
# Every deadline rule the workflow and the decision look up: a rulebook lacking one is unsound
# (it would fail at run time, in the middle of a dispute).
DEADLINES = (
    "deadline.open_window",
    "deadline.answer.refund_only_unshipped",
    "deadline.answer.refund_only_shipped",
    "deadline.answer.return",
    "deadline.escalate",
    "deadline.evidence",
    "deadline.rebuttal",
    "deadline.return_ship",
    "deadline.confirm_receipt",
    "deadline.appeal",
    "deadline.no_reason_return",
)
_TOP_LEVEL = {"id", "version", "extends", "claim_types", "rules"}
# The numbers of RULES.md section 6 that an `evidence` rule gives (the sharpness threshold and
# the near-duplicate distance are the settings rule's), each with the least and the most a sound
# rulebook may say, and whether it must be a whole number. A rulebook without an evidence rule
# (2026.1's) takes the evidence policy's defaults, which are RULES.md's.
EVIDENCE_SIZES = {kind: f"{kind.value}_max_mib" for kind in EvidenceKind}
_EVIDENCE_NUMBERS: dict[str, tuple[bool, float, float]] = {
    **dict.fromkeys(EVIDENCE_SIZES.values(), (True, 1, 2048)),  # MiB, up to 2 GiB
    # above 100 MP an image does not decode within the decoder's memory and CPU bounds anyway
    "max_pixels": (True, 1, 100_000_000),
    "photo_min_short_side": (True, 1, 65535),  # 65535: the longest side JPEG allows
    "video_min_short_side": (True, 1, 65535),
    "video_min_seconds": (False, 0.001, 86400),  # seconds, up to a day
    "video_max_seconds": (False, 0.001, 86400),
    "capture_tolerance_hours": (False, 0, 8760),  # none to a year
    "certificate_max_age_days": (True, 1, 3660),
}
# what a rule of each kind may say (and must say, when the value is True)
_FIELDS: dict[str, dict[str, bool]] = {
    "evidence": dict.fromkeys(_EVIDENCE_NUMBERS, True),
    "settings": {
        "zone": True,
        "both_ratio": True,
        # 2026.1's manual review settings (later rulebooks say it with review rules)
        "manual_review_amount": False,
        "manual_review_near_duplicate": False,
        "sharpness_threshold": True,
        "near_duplicate_distance": True,
        "accreditation_registry": False,
        "jpeg_max_scans": False,
        "jpeg_max_segments": False,
        "decoder_cpu_seconds": False,
        "video_timing_tolerance": False,
    },
    "strength": {
        "photo": True,
        "chat_record": True,
        "video": True,
        "logistics_record": True,
        "inspection_certificate": True,
        "inspection_certificate_accredited": True,
        # 2026.1 gave findings a strength; no rule weighs them (special and review rows do)
        "platform_finding": False,
    },
    "scope": {"claim": True, "categories": False, "remedies": False},
    "review": {"when": True, "amount": False},
    "deadline": {"days": False, "hours": False},
    "burden": {
        "claim": True,
        "party": True,
        "proof": True,
        "rebuttal": True,
        "serial_bonus": False,
    },
    "weigh": {"proof": True, "rebuttal": True, "liability": True},
    "special": {
        "claim": True,
        "finding": False,
        "when": False,
        "liability": False,
        "remedy": False,
        "violation": False,
        "return_shipping": False,
        "exclusions": False,
    },
    "remedy": {
        "liability": True,
        "remedy": True,
        "refund": True,
        "return_shipping": False,
        "penalty_multiplier": True,
        "penalty_minimum": True,
    },
}
QUALIFIERS = ("pre_shipment", "pass", "fail", "shipped", "delivered")
_SHIPPED = frozenset({"shipped", "in_transit", "delivered"})
WEIGH_PROOF = ("none", "some")
WEIGH_REBUTTAL = ("any", "none", "weaker", "equal", "stronger")
WEIGH_LIABILITY = ("burdened", "other", "both")
SITUATIONS = (
    ("none", "none"),
    ("none", "stronger"),
    ("some", "none"),
    ("some", "weaker"),
    ("some", "equal"),
    ("some", "stronger"),
)
SPECIAL_WHEN = ("no_finding", "merchant_unproven", "ineligible", "both_liable", "merchant_liable")
REVIEW_WHEN = ("paid_amount_at_least", "near_duplicate", "unused_finding")
REMEDY_CHOICES = ("requested", "rejection", *(r.value for r in Remedy))
REFUNDS = ("disputed", "zero", "ratio")


@dataclass(frozen=True)
class EvidenceSpec:
    """What an item must be to count: a kind, and optionally a qualifier it must meet."""

    kind: EvidenceKind
    qualifier: str | None = None

    def matches(self, item: EvidenceRecord) -> bool:
        if item.kind is not self.kind:
            return False
        match self.qualifier:
            case None:
                return True
            case "pre_shipment":
                return item.pre_shipment
            case "pass" | "fail":
                return item.result == self.qualifier
            case "shipped":
                return item.status in _SHIPPED
            case "delivered":
                return item.status == "delivered"
        return False

    def __str__(self) -> str:
        return self.kind.value + (f":{self.qualifier}" if self.qualifier else "")


@dataclass(frozen=True)
class Burden:
    id: str
    claim: ClaimType
    party: Party
    proof: tuple[EvidenceSpec, ...]
    rebuttal: tuple[EvidenceSpec, ...]
    serial_bonus: int = 0


@dataclass(frozen=True)
class WeighRow:
    id: str
    proof: str
    rebuttal: str
    liability: str

    def matches(self, proof: str, rebuttal: str) -> bool:
        return self.proof == proof and self.rebuttal in ("any", rebuttal)


@dataclass(frozen=True)
class Special:
    id: str
    claim: ClaimType
    finding: PlatformFinding | None = None
    when: str | None = None
    liability: Liability | None = None
    remedy: str | None = None
    violation: str | None = None
    return_shipping: Party | None = None
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Where a claim type applies: the order categories and the requested remedies it admits
    (empty: any). A case outside its claim type's scope is invalid."""

    id: str
    claim: ClaimType
    categories: frozenset[str] = frozenset()
    remedies: frozenset[Remedy] = frozenset()


@dataclass(frozen=True)
class Review:
    """A reason to send a dispute to a platform reviewer instead of deciding it at once."""

    id: str
    when: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class RemedyRow:
    id: str
    liability: Liability
    remedy: str
    refund: str
    return_shipping: Party | None
    penalty_multiplier: Decimal
    penalty_minimum: Decimal


@dataclass(frozen=True)
class Settings:
    zone: str
    both_ratio: Decimal
    sharpness_threshold: float
    near_duplicate_distance: int
    accreditation_registry: frozenset[str] | None
    jpeg_max_scans: int
    jpeg_max_segments: int
    decoder_cpu_seconds: float
    video_timing_tolerance: float


@dataclass(frozen=True)
class EvidenceLimits:
    """The numbers evidence validation applies that RULES.md section 6 makes rulebook values:
    those of the rulebook's ``evidence`` rule (``rule``), or, in a rulebook without one (the
    2026.1 releases), the evidence policy's defaults (``rule`` None)."""

    rule: str | None
    size_limits: Mapping[EvidenceKind, int]  # bytes
    max_pixels: int
    photo_min_short_side: int
    video_min_short_side: int
    video_min_seconds: float
    video_max_seconds: float
    capture_tolerance: timedelta
    certificate_max_age_days: int

    @classmethod
    def defaults(cls) -> EvidenceLimits:
        policy = DEFAULT_POLICY
        return cls(
            rule=None,
            size_limits=dict(policy.size_limits),
            max_pixels=policy.max_pixels,
            photo_min_short_side=policy.photo_min_short_side,
            video_min_short_side=policy.video_min_short_side,
            video_min_seconds=policy.video_min_seconds,
            video_max_seconds=policy.video_max_seconds,
            capture_tolerance=policy.capture_tolerance,
            certificate_max_age_days=policy.certificate_max_age_days,
        )


@dataclass(frozen=True)
class Rulebook:
    id: str
    version: str
    digest: str
    claim_types: frozenset[ClaimType]
    settings: Settings
    evidence: EvidenceLimits
    strength: Mapping[str, int]
    deadlines: Mapping[str, timedelta]
    burdens: Mapping[ClaimType, Burden]
    weigh: tuple[WeighRow, ...]
    specials: Mapping[str, Special]
    remedies: Mapping[Liability, RemedyRow]
    scopes: Mapping[ClaimType, Scope]
    reviews: tuple[Review, ...]

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def exclusion_codes(self) -> frozenset[str]:
        """The codes an order's ``exclusions`` may use (those the special rows list)."""
        return frozenset(code for s in self.specials.values() for code in s.exclusions)

    def out_of_scope(self, order: Order, claim: Claim) -> tuple[str, str] | None:
        """Why this rulebook cannot take the claim on the order, as (JSON pointer, reason),
        or None when it can."""
        if claim.type not in self.claim_types:
            return "/claim/type", f"rulebook {self.label} does not decide {claim.type} claims"
        scope = self.scopes.get(claim.type)
        if scope is not None and scope.categories and order.category not in scope.categories:
            return "/claim/type", (
                f"{scope.id}: {claim.type} applies to {', '.join(sorted(scope.categories))} "
                f"only, not {order.category}"
            )
        if scope is not None and scope.remedies and claim.requested_remedy not in scope.remedies:
            return "/claim/requested_remedy", (
                f"{scope.id}: {claim.type} admits "
                f"{' or '.join(sorted(scope.remedies))} only, not {claim.requested_remedy}"
            )
        codes = self.exclusion_codes
        for index, code in enumerate(order.exclusions):
            if code not in codes:
                known = ", ".join(sorted(codes)) or "none"
                return f"/order/exclusions/{index}", (
                    f"unknown exclusion {code!r}: rulebook {self.label} knows {known}"
                )
        return None

    def deadline(self, rule: str) -> timedelta:
        return self.deadlines[rule]

    def specials_for(self, claim: ClaimType) -> Iterator[Special]:
        return (s for s in self.specials.values() if s.claim is claim)

    def evidence_policy(self) -> EvidencePolicy:
        """The numbers the engine validates this rulebook's evidence by: its ``evidence`` and
        ``settings`` rules' (the decoder's own bounds stay the policy's)."""
        limits = self.evidence
        return EvidencePolicy(
            size_limits=dict(limits.size_limits),
            max_pixels=limits.max_pixels,
            photo_min_short_side=limits.photo_min_short_side,
            video_min_short_side=limits.video_min_short_side,
            video_min_seconds=limits.video_min_seconds,
            video_max_seconds=limits.video_max_seconds,
            capture_tolerance=limits.capture_tolerance,
            certificate_max_age_days=limits.certificate_max_age_days,
            sharpness_threshold=self.settings.sharpness_threshold,
            near_duplicate_distance=self.settings.near_duplicate_distance,
            zone=self.settings.zone,
            accreditation_registry=self.settings.accreditation_registry,
            jpeg_max_scans=self.settings.jpeg_max_scans,
            jpeg_max_segments=self.settings.jpeg_max_segments,
            decoder_cpu_seconds=self.settings.decoder_cpu_seconds,
            video_timing_tolerance=self.settings.video_timing_tolerance,
        )


def load_rulebook(name_or_path: str | Path, *, version: str | None = None) -> Rulebook:
    """A built-in rulebook by id (``kuaishou.used_3c``) or a rulebook file, layered and checked.

    ``version``: a built-in rulebook as an earlier release shipped it (``rulebooks/archive``),
    the rulebooks it extends taken at the same version; disputes opened under it reload it."""
    if version is not None and name_or_path not in BUILTIN:
        raise RulebookError([f"{name_or_path}: only a built-in rulebook has earlier versions"])
    if version is not None and not _VERSION.fullmatch(version):
        raise RulebookError([f"{name_or_path}: {version!r} is not a rulebook version"])
    layers = _layers(name_or_path, version)
    problems: list[str] = []
    rules: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (file, rule)
    for origin, data in layers:
        for rule_id, rule in data.get("rules", {}).items():
            rules[rule_id] = (origin, rule)
    top_origin, top = layers[-1]
    book = _Builder(top_origin, top, rules, problems).build()
    if problems:
        raise RulebookError(problems)
    assert book is not None
    return book


def archived_versions(rulebook_id: str) -> tuple[str, ...]:
    """The earlier versions of a built-in rulebook that this release can still load."""
    if rulebook_id not in BUILTIN:
        return ()
    archive = resources.files("adjudicator") / "rulebooks" / "archive"
    prefix = f"{rulebook_id}@"
    names = (entry.name for entry in archive.iterdir() if entry.name.endswith(".toml"))
    return tuple(
        sorted(name[len(prefix) : -len(".toml")] for name in names if name.startswith(prefix))
    )


def load_released(rulebook_id: str, digest: str) -> Rulebook | None:
    """The built-in rulebook, as this release or an earlier one shipped it, whose resolved
    content has ``digest``; None when no release of it had that digest."""
    current = load_rulebook(rulebook_id)
    if current.digest == digest:
        return current
    for version in archived_versions(rulebook_id):
        book = load_rulebook(rulebook_id, version=version)
        if book.digest == digest:
            return book
    return None


def _layers(name_or_path: str | Path, version: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The rulebook and those it extends, bottom first, each with the file it came from."""
    layers: list[tuple[str, dict[str, Any]]] = []
    current: str | Path | None = name_or_path
    base_dir: Path | None = None
    while current is not None:
        origin, data = _read(current, base_dir, version)
        if any(origin == seen for seen, _ in layers):
            raise RulebookError([f"{origin}: extends itself (a cycle of rulebooks)"])
        layers.insert(0, (origin, data))
        if isinstance(current, Path) or (isinstance(current, str) and current not in BUILTIN):
            base_dir = Path(origin).parent
        extends = data.get("extends")
        if extends is not None and not (
            isinstance(extends, str) and RULEBOOK_ID.fullmatch(extends)
        ):
            raise RulebookError([f"{origin}: extends must be a rulebook id, not a path"])
        current = extends
    return layers


_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*", re.ASCII)


@functools.cache
def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _plain_values(node: Any, where: str) -> None:
    """TOML dates and times are no value any rule takes (nor can a digest hash them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            _plain_values(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _plain_values(value, f"{where}[{index}]")
    elif not isinstance(node, str | int | float | bool):
        raise RulebookError([f"{where}: a {type(node).__name__} is no value a rule takes"])


def _read_text(path: Path) -> str:
    """A rulebook file's text: a regular file (never a FIFO or device) of at most
    ``MAX_RULEBOOK_BYTES``, in UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise RulebookError([f"{path}: not a regular file"])
            raw = stream.read(MAX_RULEBOOK_BYTES + 1)
    except OSError as exc:
        raise RulebookError([f"{path}: cannot read rulebook: {exc.strerror or exc}"]) from exc
    if len(raw) > MAX_RULEBOOK_BYTES:
        raise RulebookError([f"{path}: larger than {MAX_RULEBOOK_BYTES} bytes"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulebookError([f"{path}: not UTF-8: {exc}"]) from exc


def _read(
    name: str | Path, base_dir: Path | None, version: str | None
) -> tuple[str, dict[str, Any]]:
    if isinstance(name, str) and name in BUILTIN:
        where = f"{name}.toml" if version is None else f"archive/{name}@{version}.toml"
        resource = resources.files("adjudicator") / "rulebooks" / where
        origin = f"adjudicator/rulebooks/{where}"
        if not resource.is_file():
            raise RulebookError([f"{origin}: no version {version} of {name} is archived"])
        text = resource.read_text("utf-8")
    else:
        path = Path(name)
        if base_dir is not None:  # an id that ``extends`` names: the file beside the overlay
            path = base_dir / f"{name}.toml"
        text = _read_text(path)
        origin = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError([f"{origin}: not valid TOML: {exc}"]) from exc
    except RecursionError:
        raise RulebookError([f"{origin}: not valid TOML: nested too deeply"]) from None
    try:
        _plain_values(data, "")
    except RulebookError as exc:
        raise RulebookError([f"{origin}: {problem}" for problem in exc.problems]) from None
    if version is not None and data.get("version") != version:
        raise RulebookError([f"{origin}: says version {data.get('version')!r}, not {version}"])
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise RulebookError([f"{origin}: unknown top-level key(s): {', '.join(unknown)}"])
    if not isinstance(data.get("rules", {}), dict):
        raise RulebookError([f"{origin}: rules must be a table keyed by rule id"])
    return origin, data


class _Builder:
    def __init__(
        self,
        origin: str,
        top: dict[str, Any],
        rules: dict[str, tuple[str, dict[str, Any]]],
        problems: list[str],
    ) -> None:
        self.origin = origin
        self.top = top
        self.rules = rules
        self.problems = problems

    def fail(self, rule_id: str | None, message: str) -> None:
        origin = self.rules[rule_id][0] if rule_id in self.rules else self.origin
        self.problems.append(f"{origin}: {'rule ' + rule_id + ': ' if rule_id else ''}{message}")

    def build(self) -> Rulebook | None:
        by_kind: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in _FIELDS}
        for rule_id, (_, rule) in sorted(self.rules.items()):
            if not isinstance(rule, dict):
                self.fail(rule_id, "must be a table")
                continue
            kind = rule.get("kind")
            if not isinstance(kind, str) or kind not in _FIELDS:
                self.fail(rule_id, f"unknown kind {kind!r} (one of {', '.join(_FIELDS)})")
                continue
            fields = _FIELDS[kind]
            unknown = sorted(set(rule) - set(fields) - {"kind"})
            if unknown:
                self.fail(rule_id, f"unknown key(s) {', '.join(unknown)} for a {kind} rule")
            missing = sorted(
                name for name, required in fields.items() if required and name not in rule
            )
            if missing:
                self.fail(rule_id, f"missing key(s) {', '.join(missing)}")
                continue
            by_kind[kind][rule_id] = rule
        try:
            identity = self._identity()
            claim_types = self._claim_types()
            settings = self._settings(by_kind["settings"])
            evidence = self._evidence(by_kind["evidence"])
            strength = self._strength(by_kind["strength"])
            deadlines = {
                rid: d
                for rid, r in by_kind["deadline"].items()
                if (d := self._deadline(rid, r)) is not None
            }
            for absent in sorted(set(DEADLINES) - set(by_kind["deadline"])):
                self.fail(None, f"has no {absent} rule, which the workflow needs")
            burdens = self._burdens(by_kind["burden"], claim_types)
            weigh = self._weigh(by_kind["weigh"])
            specials = {
                rid: s
                for rid, r in by_kind["special"].items()
                if (s := self._special(rid, r, claim_types))
            }
            remedies = self._remedies(by_kind["remedy"], burdens, weigh, specials)
            scopes = self._scopes(by_kind["scope"], claim_types)
            reviews = self._reviews(by_kind["review"], by_kind["settings"])
        except (TypeError, ValueError, KeyError, ArithmeticError, AttributeError) as exc:
            # a value of a type no check above expected: unsound, said in one line
            self.fail(None, f"a value of the wrong type or range ({type(exc).__name__}: {exc})")
            return None
        if self.problems or settings is None or evidence is None or identity is None:
            return None
        return Rulebook(
            id=identity[0],
            version=identity[1],
            digest=self._digest(),
            claim_types=claim_types,
            settings=settings,
            evidence=evidence,
            strength=strength,
            deadlines=deadlines,
            burdens=burdens,
            weigh=weigh,
            specials=specials,
            remedies=remedies,
            scopes=scopes,
            reviews=reviews,
        )

    def _identity(self) -> tuple[str, str] | None:
        rid, version = self.top.get("id"), self.top.get("version")
        if not isinstance(rid, str) or not isinstance(version, str):
            self.fail(None, "id and version must be strings")
            return None
        return rid, version

    def _claim_types(self) -> frozenset[ClaimType]:
        out: set[ClaimType] = set()
        for raw in self.top.get("claim_types", []):
            try:
                out.add(ClaimType(raw))
            except ValueError:
                self.fail(None, f"claim_types: unknown claim type {raw!r}")
        if not out:
            self.fail(None, "claim_types must name the claim types this rulebook decides")
        return frozenset(out)

    def _digest(self) -> str:
        resolved = {
            "id": self.top.get("id"),
            "version": self.top.get("version"),
            "claim_types": sorted(self.top.get("claim_types", [])),
            "rules": {rid: rule for rid, (_, rule) in sorted(self.rules.items())},
        }
        canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _one(
        self, rules: dict[str, dict[str, Any]], kind: str
    ) -> tuple[str, dict[str, Any]] | None:
        if len(rules) != 1:
            self.fail(None, f"needs exactly one {kind} rule, has {len(rules)}")
            return None
        return next(iter(rules.items()))

    def _settings(self, rules: dict[str, dict[str, Any]]) -> Settings | None:
        found = self._one(rules, "settings")
        if found is None:
            return None
        rid, rule = found
        registry = rule.get("accreditation_registry")
        zone = rule["zone"]
        if not (isinstance(zone, str) and _ZONE.fullmatch(zone) and _known_zone(zone)):
            self.fail(rid, f"zone {zone!r} is not an IANA time zone such as Asia/Shanghai")
            return None
        try:
            return Settings(
                zone=zone,
                both_ratio=self._decimal(rid, "both_ratio", rule["both_ratio"]),
                sharpness_threshold=float(rule["sharpness_threshold"]),
                near_duplicate_distance=_count(rule, "near_duplicate_distance", least=0),
                accreditation_registry=None if registry is None else frozenset(map(str, registry)),
                jpeg_max_scans=_count(rule, "jpeg_max_scans"),
                jpeg_max_segments=_count(rule, "jpeg_max_segments"),
                decoder_cpu_seconds=_positive(rule, "decoder_cpu_seconds"),
                video_timing_tolerance=_positive(rule, "video_timing_tolerance", least=1.0),
            )
        except (TypeError, ValueError) as exc:
            self.fail(rid, str(exc))
            return None

    def _evidence(self, rules: dict[str, dict[str, Any]]) -> EvidenceLimits | None:
        """The evidence rule's numbers, each checked; a rulebook may have none (then the
        policy's defaults), not two."""
        if not rules:
            return EvidenceLimits.defaults()
        if len(rules) > 1:
            self.fail(
                None, f"has {len(rules)} evidence rules ({', '.join(rules)}); it may have one"
            )
            return None
        rid, rule = next(iter(rules.items()))
        numbers: dict[str, float] = {}
        for name, (whole, least, most) in _EVIDENCE_NUMBERS.items():
            value = rule[name]
            number = int if whole else int | float
            if not (isinstance(value, number) and not isinstance(value, bool)) or not (
                least <= value <= most  # NaN is neither
            ):
                wanted = "a whole number" if whole else "a number"
                self.fail(rid, f"{name} = {value!r} must be {wanted} from {least:,} to {most:,}")
                continue
            numbers[name] = value
        if len(numbers) < len(_EVIDENCE_NUMBERS):
            return None
        shortest, longest = numbers["video_min_seconds"], numbers["video_max_seconds"]
        if shortest > longest:
            self.fail(
                rid,
                f"video_min_seconds = {shortest!r} is more than video_max_seconds = {longest!r}",
            )
            return None
        side, pixels = int(numbers["photo_min_short_side"]), int(numbers["max_pixels"])
        if side * side > pixels:
            self.fail(
                rid,
                f"photo_min_short_side = {side} needs at least {side * side:,} pixels, more than "
                f"max_pixels = {pixels:,}: no photo could be accepted",
            )
            return None
        return EvidenceLimits(
            rule=rid,
            size_limits={kind: int(numbers[name]) * MIB for kind, name in EVIDENCE_SIZES.items()},
            max_pixels=pixels,
            photo_min_short_side=side,
            video_min_short_side=int(numbers["video_min_short_side"]),
            video_min_seconds=float(shortest),
            video_max_seconds=float(longest),
            capture_tolerance=timedelta(hours=numbers["capture_tolerance_hours"]),
            certificate_max_age_days=int(numbers["certificate_max_age_days"]),
        )

    def _strength(self, rules: dict[str, dict[str, Any]]) -> dict[str, int]:
        found = self._one(rules, "strength")
        if found is None:
            return {}
        rid, rule = found
        out: dict[str, int] = {}
        for name, value in rule.items():
            if name == "kind":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self.fail(rid, f"{name} must be a whole number of at least 0")
            else:
                out[name] = value
        return out

    def _deadline(self, rid: str, rule: dict[str, Any]) -> timedelta | None:
        given = [k for k in ("days", "hours") if k in rule]
        if len(given) != 1:
            self.fail(rid, "a deadline gives exactly one of days or hours")
            return None
        value = rule[given[0]]
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            self.fail(rid, f"{given[0]} = {value!r} is not a positive duration")
            return None
        if (value if given[0] == "days" else value / 24) > MAX_DEADLINE.days:
            self.fail(rid, f"{given[0]} = {value!r} is longer than {MAX_DEADLINE.days} days")
            return None
        duration = timedelta(**{given[0]: value})
        if duration < timedelta(seconds=1):
            self.fail(rid, f"{given[0]} = {value!r} is shorter than a second")
            return None
        return duration

    def _specs(self, rid: str, field: str, raw: Any) -> tuple[EvidenceSpec, ...]:
        if not isinstance(raw, list):
            self.fail(rid, f"{field} must be a list of evidence kinds")
            return ()
        specs = []
        for text in raw:
            kind, _, qualifier = str(text).partition(":")
            try:
                specs.append(EvidenceSpec(EvidenceKind(kind), qualifier or None))
            except ValueError:
                self.fail(rid, f"{field}: unknown evidence kind {kind!r}")
                continue
            if qualifier and qualifier not in QUALIFIERS:
                self.fail(rid, f"{field}: unknown qualifier {qualifier!r}")
        return tuple(specs)

    def _burdens(
        self, rules: dict[str, dict[str, Any]], claim_types: frozenset[ClaimType]
    ) -> dict[ClaimType, Burden]:
        out: dict[ClaimType, Burden] = {}
        for rid, rule in rules.items():
            try:
                claim, party = ClaimType(rule["claim"]), Party(rule["party"])
            except ValueError as exc:
                self.fail(rid, str(exc))
                continue
            if claim in out:
                self.fail(
                    rid, f"decides claim {claim} as {out[claim].id} does (the same situation)"
                )
                continue
            out[claim] = Burden(
                id=rid,
                claim=claim,
                party=party,
                proof=self._specs(rid, "proof", rule["proof"]),
                rebuttal=self._specs(rid, "rebuttal", rule["rebuttal"]),
                serial_bonus=int(rule.get("serial_bonus", 0)),
            )
        for claim in sorted(claim_types - set(out)):
            self.fail(None, f"claim type {claim} has no decision row (a burden rule)")
        return out

    def _weigh(self, rules: dict[str, dict[str, Any]]) -> tuple[WeighRow, ...]:
        rows = []
        for rid, rule in rules.items():
            row = WeighRow(rid, rule["proof"], rule["rebuttal"], rule["liability"])
            for field, allowed in (
                ("proof", WEIGH_PROOF),
                ("rebuttal", WEIGH_REBUTTAL),
                ("liability", WEIGH_LIABILITY),
            ):
                if getattr(row, field) not in allowed:
                    self.fail(rid, f"{field} must be one of {', '.join(allowed)}")
            rows.append(row)
        for proof, rebuttal in SITUATIONS:
            matching = [r.id for r in rows if r.matches(proof, rebuttal)]
            if not matching:
                self.fail(None, f"no weigh row for proof {proof}, rebuttal {rebuttal}")
            elif len(matching) > 1:
                self.fail(
                    matching[1],
                    f"matches the same situation as {matching[0]} "
                    f"(proof {proof}, rebuttal {rebuttal})",
                )
        return tuple(rows)

    def _special(
        self, rid: str, rule: dict[str, Any], claim_types: frozenset[ClaimType]
    ) -> Special | None:
        try:
            special = Special(
                id=rid,
                claim=ClaimType(rule["claim"]),
                finding=None if "finding" not in rule else PlatformFinding(rule["finding"]),
                when=rule.get("when"),
                liability=None if "liability" not in rule else Liability(rule["liability"]),
                remedy=rule.get("remedy"),
                violation=rule.get("violation"),
                return_shipping=None
                if "return_shipping" not in rule
                else Party(rule["return_shipping"]),
                exclusions=tuple(map(str, rule.get("exclusions", ()))),
            )
        except ValueError as exc:
            self.fail(rid, str(exc))
            return None
        if special.when is not None and special.when not in SPECIAL_WHEN:
            self.fail(rid, f"when must be one of {', '.join(SPECIAL_WHEN)}")
        if special.remedy is not None and special.remedy not in REMEDY_CHOICES:
            self.fail(rid, f"remedy must be one of {', '.join(REMEDY_CHOICES)}")
        decides_first = (special.finding is not None and special.when != "merchant_unproven") or (
            special.when == "ineligible"
        )
        if special.when == "no_finding" and special.finding is None:
            self.fail(rid, "when = no_finding needs the finding it waits for")
        if special.finding is not None and special.when not in (
            None,
            "no_finding",
            "merchant_liable",
        ):
            self.fail(rid, f"a finding does not go with when = {special.when}")
        if decides_first and special.liability is None:
            self.fail(rid, "decides the dispute before any weighing, so it must give a liability")
        if special.claim not in claim_types:
            self.fail(
                rid, f"is for claim type {special.claim}, which this rulebook does not decide"
            )
        return special

    def _scopes(
        self, rules: dict[str, dict[str, Any]], claim_types: frozenset[ClaimType]
    ) -> dict[ClaimType, Scope]:
        out: dict[ClaimType, Scope] = {}
        for rid, rule in rules.items():
            categories, remedies = rule.get("categories", []), rule.get("remedies", [])
            if not isinstance(categories, list) or not isinstance(remedies, list):
                self.fail(rid, "categories and remedies must be lists")
                continue
            try:
                scope = Scope(
                    id=rid,
                    claim=ClaimType(rule["claim"]),
                    categories=frozenset(map(str, categories)),
                    remedies=frozenset(Remedy(r) for r in remedies),
                )
            except ValueError as exc:
                self.fail(rid, str(exc))
                continue
            if not scope.categories and not scope.remedies:
                self.fail(rid, "a scope names categories, remedies or both")
            for category in sorted(scope.categories - set(CATEGORIES)):
                self.fail(rid, f"unknown category {category!r} (one of {', '.join(CATEGORIES)})")
            if scope.claim not in claim_types:
                self.fail(
                    rid, f"is for claim type {scope.claim}, which this rulebook does not decide"
                )
            elif scope.claim in out:
                self.fail(rid, f"scopes {scope.claim} as {out[scope.claim].id} does")
            out[scope.claim] = scope
        return out

    def _reviews(
        self, rules: dict[str, dict[str, Any]], settings: dict[str, dict[str, Any]]
    ) -> tuple[Review, ...]:
        out: list[Review] = []
        for rid, rule in rules.items():
            when = rule["when"]
            if when not in REVIEW_WHEN:
                self.fail(rid, f"when must be one of {', '.join(REVIEW_WHEN)}")
                continue
            if (when == "paid_amount_at_least") != ("amount" in rule):
                self.fail(rid, "amount goes with (and only with) when = paid_amount_at_least")
                continue
            amount = None if "amount" not in rule else self._decimal(rid, "amount", rule["amount"])
            out.append(Review(rid, when, amount))
        for rid, rule in settings.items():  # a 2026.1 rulebook says it in its settings
            if "manual_review_amount" in rule:
                amount = self._decimal(rid, "manual_review_amount", rule["manual_review_amount"])
                out.append(Review(rid, "paid_amount_at_least", amount))
            if rule.get("manual_review_near_duplicate") is True:
                out.append(Review(rid, "near_duplicate"))
        return tuple(out)

    def _remedies(
        self,
        rules: dict[str, dict[str, Any]],
        burdens: dict[ClaimType, Burden],
        weigh: tuple[WeighRow, ...],
        specials: dict[str, Special],
    ) -> dict[Liability, RemedyRow]:
        reachable: set[Liability] = {s.liability for s in specials.values() if s.liability}
        parties = {b.party for b in burdens.values()} & {Party.BUYER, Party.MERCHANT}
        for weigh_row in weigh:
            if weigh_row.liability == "both":
                reachable.add(Liability.BOTH)
            else:
                for burdened in parties:
                    other = Party.MERCHANT if burdened is Party.BUYER else Party.BUYER
                    party = burdened if weigh_row.liability == "burdened" else other
                    reachable.add(Liability(party.value))
        out: dict[Liability, RemedyRow] = {}
        for rid, rule in rules.items():
            try:
                liability = Liability(rule["liability"])
                row = RemedyRow(
                    id=rid,
                    liability=liability,
                    remedy=str(rule["remedy"]),
                    refund=str(rule["refund"]),
                    return_shipping=None
                    if "return_shipping" not in rule
                    else Party(rule["return_shipping"]),
                    penalty_multiplier=self._decimal(
                        rid, "penalty_multiplier", rule["penalty_multiplier"]
                    ),
                    penalty_minimum=self._decimal(rid, "penalty_minimum", rule["penalty_minimum"]),
                )
            except ValueError as exc:
                self.fail(rid, str(exc))
                continue
            if row.remedy not in REMEDY_CHOICES:
                self.fail(rid, f"remedy must be one of {', '.join(REMEDY_CHOICES)}")
            if row.refund not in REFUNDS:
                self.fail(rid, f"refund must be one of {', '.join(REFUNDS)}")
            rejects = row.remedy == "rejection" or (
                row.remedy in REMEDY_CHOICES[2:] and REMEDIES[Remedy(row.remedy)].rejection
            )
            if rejects != (row.refund == "zero"):
                self.fail(rid, "a rejection refunds zero, and only a rejection does")
            if liability in out:
                self.fail(rid, f"gives the remedy for {liability} as {out[liability].id} does")
            elif liability not in reachable:
                self.fail(rid, f"no row can reach it: nothing decides liability {liability}")
            out[liability] = row
        for liability in sorted(reachable - set(out)):
            self.fail(None, f"liability {liability} can be decided but has no remedy row")
        return out

    def _decimal(self, rid: str, field: str, raw: Any) -> Decimal:
        if isinstance(raw, float):
            raise ValueError(f"{field} must be a decimal string, not a float ({raw!r})")
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise ValueError(f"{field} = {raw!r} is not a decimal string")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ValueError(f"{field} = {raw!r} is not a decimal") from None
        if not value.is_finite() or value < 0 or value.adjusted() > 12:
            raise ValueError(f"{field} = {raw!r} must be a finite decimal from 0 to 10^12")
        if field == "both_ratio" and value > 1:
            raise ValueError(f"both_ratio = {raw!r} is a share of the disputed amount: 0 to 1")
        return value


def _count(rule: dict[str, Any], name: str, *, least: int = 1) -> int:
    """A whole-number setting; absent, the evidence policy's default (the decoding bounds, as
    the pixel limit is, are not rules of the platform: a rulebook may tighten them)."""
    value = rule.get(name, getattr(DEFAULT_POLICY, name))
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"{name} = {value!r} must be a whole number of at least {least}")
    return value


def _positive(rule: dict[str, Any], name: str, *, least: float = 0.0) -> float:
    value = rule.get(name, getattr(DEFAULT_POLICY, name))
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > least:
        raise ValueError(f"{name} = {value!r} must be a number above {least:g}")
    return float(value)
