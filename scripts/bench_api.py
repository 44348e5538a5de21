"""What the HTTP API costs over the Python API: requests per second and p50/p99 latency of a
read (``get``) and a command (a party's ``statement``) from 1, 4 and 16 concurrent clients,
against a real ``adjudicator serve`` process on loopback, and the same operations through
``Adjudicator`` in this process, measured in the same run on the same database.

Run: ``python scripts/bench_api.py [--db URL] [--requests N] [--clients 1,4,16]`` (default: a
new SQLite file; PostgreSQL: ``--db postgresql+psycopg://postgres@127.0.0.1:5432/test``, whose
tables it drops and makes again). The last line is one JSON object: every measurement, and
``command_overhead_p50_ms``, the HTTP API's p50 for a command from one client less the
Python API's (the target is at most 2 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from adjudicator import tokens
from adjudicator.domain import Claim, ClaimType, Order, OrderItem, Remedy
from adjudicator.service import Adjudicator
from evidence import Party

T0 = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
ORDER = Order(
    "O-B", "general", Decimal("99.00"), "CNY", (OrderItem("S", "x", Decimal("99.00"), 1),)
)
CLAIM = Claim(ClaimType.NOT_SHIPPED, Remedy.REFUND_ONLY)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(clients: int, requests: int, call: Callable[[int, int], object]) -> dict[str, float]:
    """``requests`` calls shared by ``clients`` threads (client c, its n-th call)."""
    latencies: list[float] = []

    def client(number: int) -> list[float]:
        own = []
        for n in range(requests // clients):
            start = time.perf_counter()
            call(number, n)
            own.append(time.perf_counter() - start)
        return own

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for own in pool.map(client, range(clients)):
            latencies += own
    wall = time.perf_counter() - start
    return {
        "per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fresh(url: str) -> None:
    """An empty database at ``url`` (PostgreSQL's tables dropped; SQLite is a new file)."""
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=400, help="per measurement (default 400)")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients (default 1,4,16)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    url = args.db or f"sqlite:///{folder / 'bench.db'}"
    fresh(url)
    counts = [int(c) for c in args.clients.split(",")]
    service = Adjudicator.from_url(url, evidence_dir=folder / "store")
    token = tokens.create(service.engine, "host", at=T0)
    most = max(counts)
    for c in range(most):
        for kind in ("py", "http"):
            service.open(f"{kind}-{c}", ORDER, CLAIM, at=T0)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "adjudicator", "serve", "--db", url, "--port", str(port)],
        env={**os.environ, "ADJUDICATOR_EVIDENCE_DIR": str(folder / "store")},
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        _wait(base, server)
        http = [httpx.Client(base_url=base, headers=headers) for _ in range(most)]
        at = [T0 + timedelta(seconds=1)]  # each client's n-th statement comes n seconds after
        operations: dict[str, dict[str, Callable[[int, int], object]]] = {
            "get": {
                "python": lambda c, n: service.get(f"py-{c}"),
                "http": lambda c, n: _ok(http[c].get(f"/disputes/http-{c}")),
            },
            "command": {
                "python": lambda c, n: (
                    service.statement(
                        f"py-{c}", Party.BUYER, f"第{n}句", at=at[0] + timedelta(seconds=n)
                    )
                    and None
                ),
                "http": lambda c, n: _ok(
                    http[c].post(
                        f"/disputes/http-{c}/events",
                        json={
                            "at": (at[0] + timedelta(seconds=n)).isoformat(),
                            "actor": "buyer",
                            "action": "statement",
                            "text": f"第{n}句",
                        },
                    )
                ),
            },
        }
        results = []
        for name, ways in operations.items():
            for clients in counts:
                row: dict[str, object] = {"operation": name, "clients": clients}
                for way, call in ways.items():
                    measure(clients, min(40, args.requests), call)  # warm up
                    row[way] = measure(clients, args.requests, call)
                results.append(row)
                print(
                    f"{name:8} {clients:>2} clients: python {row['python']}, http {row['http']}",
                    flush=True,
                )
        command_1 = next(r for r in results if r["operation"] == "command" and r["clients"] == 1)
        overhead = command_1["http"]["p50_ms"] - command_1["python"]["p50_ms"]  # type: ignore[index]
        for client in http:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        service.close()
    print(
        json.dumps(
            {
                "db": url.split(":")[0],
                "requests": args.requests,
                "results": results,
                "command_overhead_p50_ms": round(overhead, 3),
            }
        )
    )


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.HTTPError:
            if server.poll() is not None:
                raise SystemExit("the server stopped") from None
            time.sleep(0.05)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main(sys.argv[1:])
