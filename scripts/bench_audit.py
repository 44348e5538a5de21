"""How fast ``adjudicator audit verify --db`` reads the decision log, and in how much memory.

    .venv/bin/python scripts/bench_audit.py [--entries 200000] [--db URL]

It fills a fresh database (default: an SQLite file in a temporary folder; ``--db`` names an
empty one, e.g. a PostgreSQL database made for it) with a valid log of about N entries: the
example disputes are replayed into it (``adjudicator replay --db``), then copied, each copy
under new case ids (its entries sealed anew with :func:`adjudicator.auditlog.seal`, so the
chain goes on through them, and its dispute, decision, evidence and effects rows written
beside them, each effect naming its copied entry's seq and hash), until the log has N
entries or more. Then, each in a fresh process:

- ``audit verify --db``, the whole audit (the chain, the head, every dispute, decision,
  evidence and effects row against the log), once on the first quarter of the log and once
  on all of it: its entries per second, and how much its peak RSS grew over the process's
  RSS before the audit began (about the same for N/4 and N: memory does not grow with the
  log);
- ``Adjudicator.verify_log()``, the chain and its head only;
- the floor, in the same run: the log's rows read with the driver, each parsed and its
  canonical form hashed (SHA-256), which any check of the chain must do, with the cheapest
  calls for it (``adjudicator.auditlog``'s: json's own scanner, one C encoder).

Rates are entries per second of wall-clock time, and per second of the process's CPU time
(steadier on a busy machine). What holding the disputes to the log costs is the whole
audit's CPU time less ``verify_log``'s, per stored dispute. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, func, select, text

from adjudicator.auditlog import seal

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "cases"
TABLES = ("disputes", "decisions", "evidence", "effects", "log", "log_head")
BATCH = 5000

_VERIFY = """
import json, resource, sys, time
from adjudicator.cli import main
from adjudicator.service import Adjudicator
import adjudicator.audit, adjudicator.logcheck  # imported before the baseline RSS is read
url, what = sys.argv[1], sys.argv[2]
def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
before = rss_mib()
clock, cpu = time.perf_counter(), time.process_time()
if what == "cli":
    import contextlib, io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["audit", "verify", "--db", url])
    said = out.getvalue().strip().splitlines()[-1]
else:
    service = Adjudicator.from_url(url)
    clock, cpu = time.perf_counter(), time.process_time()
    entries, broken = service.verify_log()
    status, said = (0 if broken is None else 1), f"{entries} entries, break {broken}"
wall, used = time.perf_counter() - clock, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"status": status, "said": said, "seconds": wall, "cpu_seconds": used,
                  "rss_before_mib": before, "peak_rss_mib": peak}))
"""

_FLOOR = """
import hashlib, json, sys, time
from sqlalchemy import create_engine
from adjudicator.auditlog import _canonical_tree, parse_json
engine = create_engine(sys.argv[1])
with engine.connect() as connection:
    cursor = connection.connection.cursor()
    clock, cpu = time.perf_counter(), time.process_time()
    cursor.execute("SELECT entry FROM log ORDER BY seq")
    count = 0
    while rows := cursor.fetchmany(1000):
        for (entry,) in rows:
            body = parse_json(entry)
            del body["hash"]
            hashlib.sha256(_canonical_tree(body)).hexdigest()
            count += 1
    print(json.dumps({"entries": count, "seconds": time.perf_counter() - clock,
                      "cpu_seconds": time.process_time() - cpu}))
"""


class Filler:
    """Copies of the example disputes, each under new case ids, appended to the database."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        meta = MetaData()
        meta.reflect(self.engine, only=TABLES)
        self.tables: dict[str, Table] = {name: meta.tables[name] for name in TABLES}
        with self.engine.connect() as connection:
            self.template = {
                name: [dict(row._mapping) for row in connection.execute(select(table))]
                for name, table in self.tables.items()
                if name != "log_head"
            }
            head = connection.execute(select(self.tables["log_head"])).one()._mapping
        self.template["log"].sort(key=lambda row: row["seq"])
        self.case_ids = sorted({row["case_id"] for row in self.template["disputes"]})
        self.ids = frozenset(self.case_ids)
        # a case id in JSON text, or an effect's key (CASE_ID#N.I) or one it names
        ids = "|".join(map(re.escape, self.case_ids))
        self.quoted = re.compile(f'"({ids})(#[0-9]+\\.[0-9]+)?"')
        self.keyed = re.compile(f"({ids})(#[0-9]+\\.[0-9]+)")
        self.seq, self.prev = int(head["seq"]), str(head["hash"])
        self.copies = 0

    @property
    def per_copy(self) -> int:
        return len(self.template["log"])

    def fill_to(self, entries: int) -> None:
        """Append copies until the log has ``entries`` entries or more."""
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in self.template}
        while self.seq < entries:
            self.copies += 1
            self._copy(f".c{self.copies}", pending)
            if len(pending["log"]) >= BATCH:
                self._write(pending)
        self._write(pending)

    def _copy(self, suffix: str, pending: dict[str, list[dict[str, Any]]]) -> None:
        def rename(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            if value in self.ids:
                return value + suffix
            if '"' in value:  # a JSON text (snapshot, verdict, body): the case ids in it
                return self.quoted.sub(lambda found: f'"{found[1]}{suffix}{found[2] or ""}"', value)
            if self.keyed.fullmatch(value):  # an effect's key
                return self.keyed.sub(lambda found: f"{found[1]}{suffix}{found[2]}", value)
            return value

        for name in ("disputes", "decisions", "evidence"):
            for row in self.template[name]:
                copy = {
                    k: rename(v) for k, v in row.items() if not (k == "id" and name != "disputes")
                }
                pending[name].append(copy)
        sealed: dict[int, dict[str, Any]] = {}  # the template's seq: its copy
        for row in self.template["log"]:
            body = json.loads(rename(row["entry"]))
            for key in ("seq", "prev", "hash"):
                body.pop(key, None)
            self.seq += 1
            entry = seal(self.seq, self.prev, body)
            sealed[row["seq"]] = entry
            self.prev = entry["hash"]
            pending["log"].append(
                {
                    "seq": self.seq,
                    "case_id": entry["case_id"],
                    "hash": entry["hash"],
                    "entry": json.dumps(entry, ensure_ascii=False, sort_keys=True),
                }
            )
        for row in self.template["effects"]:  # as the writer writes them, in the same order
            effect = json.loads(rename(row["body"]))
            entry = sealed[effect["seq"]]
            effect["seq"], effect["hash"] = entry["seq"], entry["hash"]
            copy = {k: rename(v) for k, v in row.items() if k not in ("id", "body")}
            pending["effects"].append(copy | {"body": json.dumps(effect, ensure_ascii=False)})

    def _write(self, pending: dict[str, list[dict[str, Any]]]) -> None:
        with self.engine.begin() as connection:
            for name, rows in pending.items():
                if rows:
                    connection.execute(self.tables[name].insert(), rows)
                rows.clear()
            head = self.tables["log_head"]
            connection.execute(head.update().values(seq=self.seq, hash=self.prev))

    def count(self, table: str = "log") -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(self.tables[table])
                ).scalar_one()
            )


def child(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def verify(url: str, entries: int, what: str = "cli") -> dict[str, Any]:
    found = child(_VERIFY, url, what)
    if found["status"] != 0:
        raise SystemExit(f"the log does not verify: {found['said']}")
    found["entries"] = entries
    found["entries_per_s"] = entries / found["seconds"]
    found["entries_per_cpu_s"] = entries / found["cpu_seconds"]
    found["rss_growth_mib"] = found["peak_rss_mib"] - found["rss_before_mib"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--db", metavar="URL", help="an empty database (default: a temp file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as scratch:
        url = args.db or f"sqlite:///{Path(scratch) / 'audit.db'}"
        env = {**os.environ, "ADJUDICATOR_EVIDENCE_DIR": str(Path(scratch) / "evidence")}
        subprocess.run(
            [sys.executable, "-m", "adjudicator", "replay", "--db", url, str(EXAMPLES)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        filler = Filler(url)
        clock = time.perf_counter()
        filler.fill_to(args.entries // 4)
        quarter = filler.count()
        small = verify(url, quarter)
        filler.fill_to(args.entries)
        filled = time.perf_counter() - clock
        entries, disputes = filler.count(), filler.count("disputes")
        effects = filler.count("effects")
        large = verify(url, entries)
        chain = verify(url, entries, "verify_log")
        floor = child(_FLOOR, url)
        filler.engine.dispose()
        if args.db is not None:  # leave the caller's database as it was given: empty
            with create_engine(args.db).begin() as connection:
                for name in ("log", "evidence", "decisions", "effects", "disputes"):
                    connection.execute(text(f"DELETE FROM {name}"))
    floor_rate = floor["entries"] / floor["seconds"]
    floor_cpu_rate = floor["entries"] / floor["cpu_seconds"]
    per_dispute_us = (large["cpu_seconds"] - chain["cpu_seconds"]) / disputes * 1e6
    print(
        f"{entries} entries ({filler.copies} copies of the {len(filler.case_ids)} example "
        f"disputes, {filler.per_copy} entries each; {effects} effects), written in {filled:.1f} s"
    )
    runs = (("audit verify, N/4", small), ("audit verify, N", large), ("verify_log", chain))
    for label, run in runs:
        print(
            f"  {label:17} {run['entries']:>7} entries {run['seconds']:6.2f} s  "
            f"{run['entries_per_s']:>7,.0f}/s ({run['entries_per_cpu_s']:>7,.0f}/s of CPU)  "
            f"peak RSS +{run['rss_growth_mib']:.1f} MiB"
        )
    print(
        f"  {'floor':17} {floor['entries']:>7} entries {floor['seconds']:6.2f} s  "
        f"{floor_rate:>7,.0f}/s ({floor_cpu_rate:>7,.0f}/s of CPU)  "
        "rows + parse + SHA-256 of the canonical form"
    )
    print(
        f"  audit verify: {large['entries_per_cpu_s'] / floor_cpu_rate:.2f}x the floor's "
        f"rate (CPU); verify_log: {chain['entries_per_cpu_s'] / floor_cpu_rate:.2f}x; "
        f"holding the {disputes} disputes: {per_dispute_us:.0f} µs of CPU each beyond the chain"
    )
    print(
        json.dumps(
            {
                "entries": entries,
                "entries_per_s": round(large["entries_per_s"]),
                "entries_per_cpu_s": round(large["entries_per_cpu_s"]),
                "floor_entries_per_s": round(floor_rate),
                "floor_entries_per_cpu_s": round(floor_cpu_rate),
                "ratio_to_floor": round(large["entries_per_cpu_s"] / floor_cpu_rate, 3),
                "verify_log_entries_per_s": round(chain["entries_per_s"]),
                "verify_log_entries_per_cpu_s": round(chain["entries_per_cpu_s"]),
                "disputes": disputes,
                "effects": effects,
                "per_dispute_cpu_us": round(per_dispute_us),
                "rss_growth_mb": round(large["rss_growth_mib"], 1),
                "rss_growth_quarter_mb": round(small["rss_growth_mib"], 1),
                "quarter_entries": quarter,
                "quarter_entries_per_s": round(small["entries_per_s"]),
            }
        )
    )


if __name__ == "__main__":
    main()
