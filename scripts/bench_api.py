"""What the HTTP API costs over the Python API: requests per second and p50/p99 latency of a
read (``get``) and a command (a party's ``statement``) from 1, 4 and 16 concurrent clients,
against a real ``adjudicator serve`` process on loopback, and the same operations through
``Adjudicator`` in this process, measured in the same run on the same database.

Run: ``python scripts/bench_api.py [--db URL] [--requests N] [--clients 1,4,16] [--client
http.client|httpx]`` (default: a new SQLite file; PostgreSQL: ``--db
postgresql+psycopg://postgres@127.0.0.1:5432/test``, whose tables it drops and makes again).
The HTTP client is the standard library's ``http.client``, one kept-alive connection per
client thread, each request one write: what is measured is the server, not a client library
(httpx, ``--client httpx``, adds 0.3 to 1 ms of its own to each request's p50). The last line
is one JSON object: every measurement, and ``command_overhead_p50_ms``, the HTTP API's p50 for
a command from one client less the Python API's (the target is at most 2 ms). Each
measurement is made ``--rounds`` times, the Python API's and the HTTP API's in turn, each round
on disputes of its own; a figure is the median of its rounds, the overhead the median of each
round's difference (one round's varies by a millisecond on PostgreSQL).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    parser.add_argument(
        "--client",
        choices=["http.client", "httpx"],
        default="http.client",
        help="the HTTP client library (default http.client)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="of each measurement (default 5)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    url = args.db or f"sqlite:///{folder / 'bench.db'}"
    fresh(url)
    counts = [int(c) for c in args.clients.split(",")]
    service = Adjudicator.from_url(url, evidence_dir=folder / "store")
    token = tokens.create(service.engine, "host", at=T0)
    most = max(counts)
    for c in range(most):
        for r in range(args.rounds):
            for kind in ("py", "http"):
                service.open(f"{kind}-{c}-{r}", ORDER, CLAIM, at=T0)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "adjudicator", "serve", "--db", url, "--port", str(port)],
        env={**os.environ, "ADJUDICATOR_EVIDENCE_DIR": str(folder / "store")},
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        _wait(base, server)
        client_class = Kept if args.client == "http.client" else Httpx
        http = [client_class(port, headers) for _ in range(most)]
        at = [T0 + timedelta(seconds=1)]  # each client's n-th statement comes n seconds after
        now = [0]  # the round: client c's disputes are py-c-r and http-c-r
        operations: dict[str, dict[str, Callable[[int, int], object]]] = {
            "get": {
                "python": lambda c, n: service.get(f"py-{c}-{now[0]}"),
                "http": lambda c, n: _ok(http[c].get(f"/disputes/http-{c}-{now[0]}")),
            },
            "command": {
                "python": lambda c, n: (
                    service.statement(
                        f"py-{c}-{now[0]}", Party.BUYER, f"第{n}句", at=at[0] + timedelta(seconds=n)
                    )
                    and None
                ),
                "http": lambda c, n: _ok(
                    http[c].post(
                        f"/disputes/http-{c}-{now[0]}/events",
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
                row: dict[str, Any] = {"operation": name, "clients": clients}
                rounds: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
                for now[0] in range(args.rounds):
                    for way, call in ways.items():
                        measure(clients, min(40, args.requests), call)  # warm up
                        rounds[way].append(measure(clients, args.requests, call))
                for way, made in rounds.items():
                    row[way] = {k: statistics.median(m[k] for m in made) for k in made[0]}
                differences = zip(rounds["http"], rounds["python"], strict=True)
                row["overhead_p50_ms"] = round(
                    statistics.median(h["p50_ms"] - p["p50_ms"] for h, p in differences), 3
                )
                results.append(row)
                print(
                    f"{name:8} {clients:>2} clients: python {row['python']}, http {row['http']}, "
                    f"overhead {row['overhead_p50_ms']} ms",
                    flush=True,
                )
        command_1 = next(r for r in results if r["operation"] == "command" and r["clients"] == 1)
        overhead = command_1["overhead_p50_ms"]
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
                "rounds": args.rounds,
                "client": args.client,
                "results": results,
                "command_overhead_p50_ms": round(overhead, 3),
            }
        )
    )


class Kept:
    """An HTTP client on one kept-alive connection (``http.client``): a request is one write
    (a body of bytes goes out with its headers), and a connection the server closed while it
    idled is opened again."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = headers

    def get(self, path: str) -> tuple[str, int, bytes]:
        return self._request("GET", path, None, self.headers)

    def post(self, path: str, json: Any) -> tuple[str, int, bytes]:
        body = _dumps(json)
        return self._request(
            "POST", path, body, {**self.headers, "Content-Type": "application/json"}
        )

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[str, int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return path, response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionError):
                self.connection.close()  # the server closed the idle connection: open again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


class Httpx:
    """The same requests through httpx (``--client httpx``)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers)

    def get(self, path: str) -> tuple[str, int, bytes]:
        response = self.client.get(path)
        return path, response.status_code, response.content

    def post(self, path: str, json: Any) -> tuple[str, int, bytes]:
        response = self.client.post(path, json=json)
        return path, response.status_code, response.content

    def close(self) -> None:
        self.client.close()


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _ok(answer: tuple[str, int, bytes]) -> None:
    path, status, body = answer
    if status >= 300:
        raise SystemExit(f"{path}: {status} {body.decode(errors='replace')}")


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
