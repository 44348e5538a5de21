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
import stat
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adjudicator.domain import (
    REMEDIES,
    Claim,
    ClaimType,
    EvidenceRecord,
    Liability,
    Order,
    Payer,
    PlatformFinding,
    Remedy,
    opposite,
)
from adjudicator.errors import RulebookError as RulebookError  # noqa: PLC0414 (re-exported)
from adjudicator.rulemodel import (
    EVIDENCE_SIZES,
    KINDS,
    RULE_ID,
    VERSION,
    BurdenRule,
    DeadlineRule,
    EvidenceRule,
    FallbackRule,
    RemedyRule,
    ReviewRule,
    ScopeRule,
    SettingsRule,
    ShippingRule,
    SpecialRule,
    StrengthRule,
    WeighRule,
    validate_rule,
    validate_top,
)
from adjudicator.rulemodel import RULEBOOK_ID as RULEBOOK_ID  # noqa: PLC0414 (re-exported)
from evidence import DEFAULT_POLICY, EvidenceKind, EvidencePolicy, Party
from evidence.policy import MIB

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

BUILTIN = ("kuaishou.general", "kuaishou.used_3c")
MAX_RULEBOOK_BYTES = 1024 * 1024
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
OFFER_DEADLINE = "deadline.offer"
"""How long an offer stands unanswered; a rulebook without it (2026.2 and before) takes none."""
DELIVERY_DEADLINE = "deadline.confirm_delivery"
"""How long the buyer has to confirm what the merchant shipped before the dispute closes."""
OPTIONAL_DEADLINES = (
    OFFER_DEADLINE,
    DELIVERY_DEADLINE,
    *(meaning.shipment for meaning in REMEDIES.values() if meaning.shipment is not None),
)
"""Deadlines a rulebook may lack (those of 2026.2 and before do): without them it takes no
offers, or does not admit the remedies the merchant ships for (:meth:`Rulebook.admits`)."""
_TOP_LEVEL = {"id", "version", "extends", "claim_types", "rules"}
_SHIPPED = frozenset({"shipped", "in_transit", "delivered"})
# the situations of the weighing table: (proof, rebuttal), each covered by exactly one row
SITUATIONS = (
    ("none", "none"),
    ("none", "stronger"),
    ("some", "none"),
    ("some", "weaker"),
    ("some", "equal"),
    ("some", "stronger"),
)


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
    return_shipping: Payer | None = None
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
    return_shipping: Payer | None
    penalty_multiplier: Decimal
    penalty_minimum: Decimal


@dataclass(frozen=True)
class Shipping:
    """Who pays the return shipping: for an insured order (``insured``), for a claim type,
    or (neither) for every other claim type."""

    id: str
    payer: Payer
    claim: ClaimType | None = None
    insured: bool = False


@dataclass(frozen=True)
class Fallback:
    """What a merchant who misses a shipment deadline owes: the disputed amount, refunded."""

    id: str


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
    shipping: tuple[Shipping, ...] = ()
    fallback: Fallback | None = None
    # every rule by id as written (overlays resolved): what `rules diff` compares
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    @functools.cached_property
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
        unadmitted = self.admits(claim.requested_remedy)
        if unadmitted is not None:
            return "/claim/requested_remedy", unadmitted
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

    def admits(self, remedy: Remedy) -> str | None:
        """Why this rulebook cannot settle a dispute with ``remedy`` (a remedy the merchant
        ships for needs its deadlines and a fallback rule), or None when it can."""
        shipment = REMEDIES[remedy].shipment
        if shipment is None:
            return None
        needed = [rule for rule in (shipment, DELIVERY_DEADLINE) if rule not in self.deadlines]
        if self.fallback is None:
            needed.append("fallback rule")
        if needed:
            return f"rulebook {self.label} has no {' or '.join(needed)}: it does not admit {remedy}"
        return None

    def return_payer(self, order: Order, claim: Claim) -> Shipping | None:
        """The shipping rule that says who pays the return shipping: the insurer's for an
        insured order, else the claim type's, else the default; None in a rulebook without
        shipping rules."""
        if order.return_insurance:
            insured = next((s for s in self.shipping if s.insured), None)
            if insured is not None:
                return insured
        for rule in self.shipping:
            if rule.claim is claim.type:
                return rule
        return next((s for s in self.shipping if s.claim is None and not s.insured), None)

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


def builtin_reference(name: str | Path) -> tuple[str, str | None] | None:
    """``(id, version)`` when ``name`` names a built-in rulebook: by its id
    (``kuaishou.general``, this release's version: None) or by its label
    (``kuaishou.general@2026.2``, a release this one still loads); None for anything else."""
    if not isinstance(name, str):
        return None
    ident, at, version = name.partition("@")
    if ident not in BUILTIN or (at and not VERSION.fullmatch(version)):
        return None
    return ident, version if at else None


def load_rulebook(name_or_path: str | Path, *, version: str | None = None) -> Rulebook:
    """A built-in rulebook by id (``kuaishou.used_3c``) or label (``kuaishou.used_3c@2026.2``),
    or a rulebook file, layered and checked.

    ``version``: a built-in rulebook as an earlier release shipped it (``rulebooks/archive``),
    the rulebooks it extends taken at the same version; disputes opened under it reload it."""
    reference = builtin_reference(name_or_path)
    if reference is not None and reference[1] is not None:
        if version is not None and version != reference[1]:
            raise RulebookError([f"{name_or_path}: is not version {version}"])
        name_or_path, version = reference
    if version is not None and name_or_path not in BUILTIN:
        raise RulebookError([f"{name_or_path}: only a built-in rulebook has earlier versions"])
    if version is not None and not VERSION.fullmatch(version):
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
    archive = _builtin_folder() / "archive"
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


def _builtin_folder() -> Traversable:
    """The built-in rulebooks: the package's ``rulebooks`` folder, read as files where it is
    one (importing ``importlib.resources``' readers imports ``zipfile`` and more: a hundredth
    of a replay's start-up), else through ``importlib.resources`` (a zipped install)."""
    folder = Path(__file__).with_name("rulebooks")
    if folder.is_dir():
        return folder
    from importlib import resources

    return resources.files("adjudicator") / "rulebooks"


def _read(
    name: str | Path, base_dir: Path | None, version: str | None
) -> tuple[str, dict[str, Any]]:
    if isinstance(name, str) and name in BUILTIN:
        where = f"{name}.toml" if version is None else f"archive/{name}@{version}.toml"
        resource = _builtin_folder() / where
        if not resource.is_file():  # this release's own version, asked for by its label
            where = f"{name}.toml"
            resource = _builtin_folder() / where
        origin = f"adjudicator/rulebooks/{where}"
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
        known = ", ".join([*archived_versions(str(name)), str(data.get("version"))])
        raise RulebookError([f"{name}: no version {version} (this release loads {known})"])
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise RulebookError([f"{origin}: unknown top-level key(s): {', '.join(unknown)}"])
    if not isinstance(data.get("rules", {}), dict):
        raise RulebookError([f"{origin}: rules must be a table keyed by rule id"])
    return origin, data


class _Builder:
    """The rulebook from its layered rules: each rule checked against its kind's model
    (:mod:`adjudicator.rulemodel`), then what no single rule can say."""

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
        self.invalid: dict[str, dict[str, Any]] = {}  # the rules that failed their model, by id

    def fail(self, rule_id: str | None, message: str) -> None:
        origin = self.rules[rule_id][0] if rule_id in self.rules else self.origin
        self.problems.append(f"{origin}: {'rule ' + rule_id + ': ' if rule_id else ''}{message}")

    def failed(self, kind: str) -> list[dict[str, Any]]:
        """The rules of ``kind`` that did not pass their model (already named): what follows
        from their absence is not said again."""
        return [raw for raw in self.invalid.values() if raw.get("kind") == kind]

    def build(self) -> Rulebook | None:
        by_kind: dict[type[Any], dict[str, Any]] = {model: {} for model in KINDS.values()}
        for rule_id, (_, raw) in sorted(self.rules.items()):
            if not RULE_ID.fullmatch(rule_id):
                self.fail(None, f"{rule_id!r} is not a rule id (lower-case letters, digits, _.-)")
                continue
            rule, problems = validate_rule(raw)
            for problem in problems:
                self.fail(rule_id, problem)
            if rule is None and isinstance(raw, dict):
                self.invalid[rule_id] = raw
            if rule is not None:
                by_kind[type(rule)][rule_id] = rule
        try:
            identity, claim_types = self._top()
            settings = self._settings(by_kind[SettingsRule])
            evidence = self._evidence(by_kind[EvidenceRule])
            strength = self._strength(by_kind[StrengthRule])
            deadlines = {rid: _duration(rule) for rid, rule in by_kind[DeadlineRule].items()}
            for absent in sorted(set(DEADLINES) - set(deadlines) - set(self.invalid)):
                self.fail(None, f"has no {absent} rule, which the workflow needs")
            burdens = self._burdens(by_kind[BurdenRule], claim_types)
            weigh = self._weigh(by_kind[WeighRule])
            specials = self._specials(by_kind[SpecialRule], claim_types)
            remedies = self._remedies(by_kind[RemedyRule], burdens, weigh, specials)
            scopes = self._scopes(by_kind[ScopeRule], claim_types)
            reviews = self._reviews(by_kind[ReviewRule], by_kind[SettingsRule])
            shipping = self._shipping(by_kind[ShippingRule], claim_types)
            fallback = self._fallback(by_kind[FallbackRule])
        except (TypeError, ValueError, KeyError, ArithmeticError, AttributeError) as exc:
            # a value no model above expected (a bug of this module): unsound, in one line
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
            shipping=shipping,
            fallback=fallback,
            rules={rid: rule for rid, (_, rule) in sorted(self.rules.items())},
        )

    def _top(self) -> tuple[tuple[str, str] | None, frozenset[ClaimType]]:
        """The rulebook's id and version, and the claim types it decides."""
        top, problems = validate_top(self.top)
        for problem in problems:
            self.fail(None, problem)
        if top is None:
            return None, frozenset()
        return (top.id, top.version), frozenset(map(ClaimType, top.claim_types))

    def _digest(self) -> str:
        resolved = {
            "id": self.top.get("id"),
            "version": self.top.get("version"),
            "claim_types": sorted(self.top.get("claim_types", [])),
            "rules": {rid: rule for rid, (_, rule) in sorted(self.rules.items())},
        }
        canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _one(self, rules: dict[str, Any], kind: str) -> tuple[str, Any] | None:
        if len(rules) != 1:
            if len(rules) or not self.failed(kind):
                self.fail(None, f"needs exactly one {kind} rule, has {len(rules)}")
            return None
        return next(iter(rules.items()))

    def _settings(self, rules: dict[str, SettingsRule]) -> Settings | None:
        found = self._one(rules, "settings")
        if found is None:
            return None
        rule: SettingsRule = found[1]
        policy = DEFAULT_POLICY  # the decoding bounds are not the platform's: optional
        registry = rule.accreditation_registry
        return Settings(
            zone=rule.zone,
            both_ratio=rule.both_ratio,
            sharpness_threshold=float(rule.sharpness_threshold),
            near_duplicate_distance=rule.near_duplicate_distance,
            accreditation_registry=None if registry is None else frozenset(registry),
            jpeg_max_scans=_or(rule.jpeg_max_scans, policy.jpeg_max_scans),
            jpeg_max_segments=_or(rule.jpeg_max_segments, policy.jpeg_max_segments),
            decoder_cpu_seconds=float(_or(rule.decoder_cpu_seconds, policy.decoder_cpu_seconds)),
            video_timing_tolerance=float(
                _or(rule.video_timing_tolerance, policy.video_timing_tolerance)
            ),
        )

    def _evidence(self, rules: dict[str, EvidenceRule]) -> EvidenceLimits | None:
        """The evidence rule's numbers; a rulebook may have none (then the policy's
        defaults), not two."""
        if not rules:
            return None if self.failed("evidence") else EvidenceLimits.defaults()
        if len(rules) > 1:
            self.fail(
                None, f"has {len(rules)} evidence rules ({', '.join(rules)}); it may have one"
            )
            return None
        rid, rule = next(iter(rules.items()))
        return EvidenceLimits(
            rule=rid,
            size_limits={
                kind: int(getattr(rule, name)) * MIB for kind, name in EVIDENCE_SIZES.items()
            },
            max_pixels=rule.max_pixels,
            photo_min_short_side=rule.photo_min_short_side,
            video_min_short_side=rule.video_min_short_side,
            video_min_seconds=float(rule.video_min_seconds),
            video_max_seconds=float(rule.video_max_seconds),
            capture_tolerance=timedelta(hours=rule.capture_tolerance_hours),
            certificate_max_age_days=rule.certificate_max_age_days,
        )

    def _strength(self, rules: dict[str, StrengthRule]) -> dict[str, int]:
        found = self._one(rules, "strength")
        if found is None:
            return {}
        values = found[1].model_dump(exclude={"kind"}, exclude_none=True)
        return {name: int(value) for name, value in values.items()}

    def _burdens(
        self, rules: dict[str, BurdenRule], claim_types: frozenset[ClaimType]
    ) -> dict[ClaimType, Burden]:
        out: dict[ClaimType, Burden] = {}
        for rid, rule in rules.items():
            claim = ClaimType(rule.claim)
            if claim in out:
                self.fail(
                    rid, f"decides claim {claim} as {out[claim].id} does (the same situation)"
                )
                continue
            out[claim] = Burden(
                id=rid,
                claim=claim,
                party=Party(rule.party),
                proof=tuple(map(_spec, rule.proof)),
                rebuttal=tuple(map(_spec, rule.rebuttal)),
                serial_bonus=rule.serial_bonus,
            )
        unchecked = {str(raw.get("claim")) for raw in self.failed("burden")}
        for claim in sorted(claim_types - set(out)):
            if claim.value not in unchecked:
                self.fail(None, f"claim type {claim} has no decision row (a burden rule)")
        return out

    def _weigh(self, rules: dict[str, WeighRule]) -> tuple[WeighRow, ...]:
        rows = [WeighRow(rid, r.proof, r.rebuttal, r.liability) for rid, r in rules.items()]
        for proof, rebuttal in SITUATIONS:
            matching = [r.id for r in rows if r.matches(proof, rebuttal)]
            if not matching and not self.failed("weigh"):
                self.fail(None, f"no weigh row for proof {proof}, rebuttal {rebuttal}")
            elif len(matching) > 1:
                self.fail(
                    matching[1],
                    f"matches the same situation as {matching[0]} "
                    f"(proof {proof}, rebuttal {rebuttal})",
                )
        return tuple(rows)

    def _specials(
        self, rules: dict[str, SpecialRule], claim_types: frozenset[ClaimType]
    ) -> dict[str, Special]:
        out: dict[str, Special] = {}
        for rid, rule in rules.items():
            special = Special(
                id=rid,
                claim=ClaimType(rule.claim),
                finding=None if rule.finding is None else PlatformFinding(rule.finding),
                when=rule.when,
                liability=None if rule.liability is None else Liability(rule.liability),
                remedy=rule.remedy,
                violation=rule.violation,
                return_shipping=None
                if rule.return_shipping is None
                else Payer(rule.return_shipping),
                exclusions=tuple(rule.exclusions),
            )
            if special.claim not in claim_types:
                self.fail(
                    rid, f"is for claim type {special.claim}, which this rulebook does not decide"
                )
            out[rid] = special
        return out

    def _scopes(
        self, rules: dict[str, ScopeRule], claim_types: frozenset[ClaimType]
    ) -> dict[ClaimType, Scope]:
        out: dict[ClaimType, Scope] = {}
        for rid, rule in rules.items():
            scope = Scope(
                id=rid,
                claim=ClaimType(rule.claim),
                categories=frozenset(rule.categories),
                remedies=frozenset(Remedy(r) for r in rule.remedies),
            )
            if scope.claim not in claim_types:
                self.fail(
                    rid, f"is for claim type {scope.claim}, which this rulebook does not decide"
                )
            elif scope.claim in out:
                self.fail(rid, f"scopes {scope.claim} as {out[scope.claim].id} does")
            out[scope.claim] = scope
        return out

    def _shipping(
        self, rules: dict[str, ShippingRule], claim_types: frozenset[ClaimType]
    ) -> tuple[Shipping, ...]:
        """The shipping rules, insured first, then by claim type, then the default: at most
        one of each, and a default whenever there are any."""
        out: list[Shipping] = []
        taken: dict[tuple[str | None, bool], str] = {}
        for rid, rule in rules.items():
            claim = None if rule.claim is None else ClaimType(rule.claim)
            shipping = Shipping(rid, Payer(rule.payer), claim, rule.when == "insured")
            key = (rule.claim, shipping.insured)
            if key in taken:
                self.fail(rid, f"says who pays the return shipping as {taken[key]} does")
                continue
            if claim is not None and claim not in claim_types:
                self.fail(rid, f"is for claim type {claim}, which this rulebook does not decide")
            taken[key] = rid
            out.append(shipping)
        if out and (None, False) not in taken:
            self.fail(None, "has shipping rules but none for every other claim type (no claim)")
        return tuple(sorted(out, key=lambda s: (not s.insured, s.claim is None, s.id)))

    def _fallback(self, rules: dict[str, FallbackRule]) -> Fallback | None:
        if len(rules) > 1:
            self.fail(
                None, f"has {len(rules)} fallback rules ({', '.join(rules)}); it may have one"
            )
            return None
        return next((Fallback(rid) for rid in rules), None)

    def _reviews(
        self, rules: dict[str, ReviewRule], settings: dict[str, SettingsRule]
    ) -> tuple[Review, ...]:
        out = [Review(rid, rule.when, rule.amount) for rid, rule in rules.items()]
        for rid, rule in settings.items():  # a 2026.1 rulebook says it in its settings
            if rule.manual_review_amount is not None:
                out.append(Review(rid, "paid_amount_at_least", rule.manual_review_amount))
            if rule.manual_review_near_duplicate is True:
                out.append(Review(rid, "near_duplicate"))
        return tuple(out)

    def _remedies(
        self,
        rules: dict[str, RemedyRule],
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
                    party = burdened if weigh_row.liability == "burdened" else opposite(burdened)
                    reachable.add(Liability(party.value))
        out: dict[Liability, RemedyRow] = {}
        for rid, rule in rules.items():
            liability = Liability(rule.liability)
            row = RemedyRow(
                id=rid,
                liability=liability,
                remedy=rule.remedy,
                refund=rule.refund,
                return_shipping=None
                if rule.return_shipping is None
                else Payer(rule.return_shipping),
                penalty_multiplier=rule.penalty_multiplier,
                penalty_minimum=rule.penalty_minimum,
            )
            if liability in out:
                self.fail(rid, f"gives the remedy for {liability} as {out[liability].id} does")
            elif liability not in reachable:
                self.fail(rid, f"no row can reach it: nothing decides liability {liability}")
            out[liability] = row
        unchecked = {str(raw.get("liability")) for raw in self.failed("remedy")}
        for liability in sorted(reachable - set(out)):
            if liability.value not in unchecked:
                self.fail(None, f"liability {liability} can be decided but has no remedy row")
        return out


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _duration(rule: DeadlineRule) -> timedelta:
    return timedelta(days=rule.days or 0, hours=rule.hours or 0)


def _spec(text: str) -> EvidenceSpec:
    kind, _, qualifier = text.partition(":")
    return EvidenceSpec(EvidenceKind(kind), qualifier or None)
