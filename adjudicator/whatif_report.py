"""How a what-if is shown: text lines, JSON lines, or one self-contained HTML page (the
summary as an inline SVG chart and a table of the changed disputes that sorts by any column;
nothing is fetched from anywhere)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from adjudicator.whatif import OUTCOME, Compared, Summary

_LABELS = {
    "state": "state",
    "resolution": "resolution",
    "liability": "liability",
    "remedy": "remedy",
    "refund_amount": "refund",
    "penalty_amount": "penalty",
    "return_shipping_payer": "return paid by",
}


def changed_lines(compared: Compared) -> list[str]:
    """A changed dispute as text: each differing field old -> new, the rule ids only one side
    cites, and the evidence judged otherwise."""
    out = [
        f"{compared.case_id}  {compared.claim}  "
        f"{compared.old.rulebook.label} -> {compared.new.rulebook.label}"
    ]
    if compared.new.line is None:
        out.append(f"  no longer replays: {compared.new.refused}")
        names: tuple[str, ...] = ()
    else:
        names = compared.differs
    for name in names:
        out.append(
            f"  {_LABELS[name]:<15} {_cell(compared.old.get(name))} -> "
            f"{_cell(compared.new.get(name))}"
        )
    removed, added = compared.rules()
    if removed or added:
        cited = [f"-{r}" for r in removed] + [f"+{r}" for r in added]
        out.append(f"  {'rules':<15} {' '.join(cited)}")
    for item in compared.evidence():
        out.append(
            f"  {'evidence ' + item['id']:<15} {_judged(item['old'])} -> {_judged(item['new'])}"
        )
    return out


def summary_lines(summary: Summary) -> list[str]:
    data = summary.to_json()
    others = ", ".join(f"{rid}: {n}" for rid, n in data["other_rulebooks"].items())
    out = [
        f"{data['disputes']} dispute(s): {data['compared']} compared, {data['changed']} changed, "
        f"{data['unchanged']} unchanged, {data['refused_under_new']} no longer replay under "
        f"the new rulebook, {sum(data['other_rulebooks'].values())} under other rulebooks"
        + (f" ({others})" if others else "")
        + f", {data['invalid']} invalid",
        f"{data['evidence_judged_otherwise']} dispute(s) have evidence the new rulebook judges "
        "otherwise (shown above when their outcome changes)",
    ]
    for side in ("old", "new"):
        for book in data[f"{side}_rulebooks"]:
            out.append(f"{side} rulebook {book['label']}  {book['digest']}")
    for claim, counts in data["by_claim"].items():
        moves = "  ".join(f"{move} {n}" for move, n in counts["liability_moves"].items())
        out.append(
            f"  {claim:<18} compared {counts['compared']:>5}  changed {counts['changed']:>5}"
            + (f"  {moves}" if moves else "")
        )
    for currency, money in data["money"].items():
        out.append(f"money in {currency}, over the disputes that replay under both:")
        for name in ("refunds", "penalties"):
            m = money[name]
            out.append(
                f"  {name:<10} old {m['old']:>14}  new {m['new']:>14}  "
                f"difference {_signed(m['difference']):>14}"
            )
    return out


def json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def html(changed: list[Compared], summary: Summary) -> str:
    """The report as one HTML page that needs nothing else (fonts, styles, chart and the
    table's sorting are all inline)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    templates = Environment(
        loader=PackageLoader("adjudicator", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    data = summary.to_json()
    rows = [_row(c) for c in changed]
    return templates.get_template("whatif.html").render(
        summary=data,
        rows=rows,
        claims=_claim_bars(data),
        money=_money_bars(data),
        labels=_LABELS,
        outcome=OUTCOME,
    )


def _row(compared: Compared) -> dict[str, Any]:
    removed, added = compared.rules()
    old, new = compared.old, compared.new
    refund_diff = None
    if new.line is not None:
        refund_diff = str(new.money("refund_amount") - old.money("refund_amount"))
    return {
        "case_id": compared.case_id,
        "claim": compared.claim,
        "old": {name: old.get(name) for name in OUTCOME},
        "new": {name: new.get(name) for name in OUTCOME},
        "refused": new.refused,
        "refund_diff": refund_diff,
        "differs": compared.differs,
        "rules_removed": removed,
        "rules_added": added,
        "evidence": [
            f"{e['id']}: {_judged(e['old'])} -> {_judged(e['new'])}" for e in compared.evidence()
        ],
    }


# --- the chart: horizontal bars, drawn here so that the template only places them -------------
_BAR_WIDTH = 320  # px of the longest bar


def _claim_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per claim type: how many were compared and how many changed, as bar widths."""
    most = max((c["compared"] for c in data["by_claim"].values()), default=0) or 1
    return [
        {
            "claim": claim,
            "compared": c["compared"],
            "changed": c["changed"],
            "compared_width": round(_BAR_WIDTH * c["compared"] / most, 1),
            "changed_width": round(_BAR_WIDTH * c["changed"] / most, 1),
        }
        for claim, c in data["by_claim"].items()
    ]


def _money_bars(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per currency and kind of money: old and new totals, as bar widths."""
    out = []
    for currency, money in data["money"].items():
        for name in ("refunds", "penalties"):
            m = money[name]
            old, new = Decimal(m["old"]), Decimal(m["new"])
            most = max(old, new) or Decimal(1)
            out.append(
                {
                    "label": f"{name} ({currency})",
                    "old": m["old"],
                    "new": m["new"],
                    "difference": _signed(m["difference"]),
                    "old_width": round(float(_BAR_WIDTH * old / most), 1),
                    "new_width": round(float(_BAR_WIDTH * new / most), 1),
                }
            )
    return out


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _signed(amount: str) -> str:
    return amount if amount.startswith("-") or Decimal(amount) == 0 else f"+{amount}"


def _judged(judged: dict[str, Any]) -> str:
    if judged["accepted"]:
        return "accepted"
    return f"rejected ({', '.join(judged['reasons'])})"
