"""The JSON Schema of a case file (``adjudicator schema``): the models of
:mod:`adjudicator.casemodel`, which the reader validates every case file with, as pydantic
writes their schema, with the dialect and the id put first.

What the reader checks beyond it (it cannot be said in a schema, or not in one of draft
2020-12): no duplicate keys, instants in the years the limits allow and on real dates, a
requested amount at most the paid amount, events in time order, evidence files inside the
case file's folder.
"""

from __future__ import annotations

from typing import Any

from adjudicator.casemodel import json_schema

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID = "https://dispute-adjudicator.invalid/schema/dispute-case-1.json"


def case_schema() -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": ID, **json_schema()}
