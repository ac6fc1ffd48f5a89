"""The soak's load process: open-loop requests at a fixed rate, faults per the plan.

Run by `bench/soak.py` as its own process (asyncio + aiohttp, uvloop when present).
Request `i` is due at `t0 + i / rate` (t0 on the shared CLOCK_MONOTONIC) whatever
happened to earlier ones; when `--max-in-flight` requests are already open, the
request is not sent and counted as `not_sent` (the bound keeps a stalled gateway
from growing the client without limit). Latency is measured from the due time, so
a late start counts against the gateway, not for it.

Every request carries its own `Helicone-Request-Id` (a UUID from a seeded RNG), so
the orchestrator can match stored records to requests even when no response came
back. One JSON line per request goes to `--out`; a final `BENCH_JSON {...}` line
on stdout sums up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

from bench import aio
from bench.soakplan import Plan

# Outcomes a deliberately faulted request may end with; anything else is unexpected.
EXPECTED: dict[str, frozenset[str]] = {
    "upstream_500": frozenset({"upstream_500"}),
    "upstream_429": frozenset({"upstream_429"}),
    "stream_reset": frozenset({"stream_cut", "gateway_502"}),
    "upstream_slow": frozenset({"ok"}),
    "slow_client": frozenset({"timeout_408"}),
    "client_disconnect": frozenset({"client_abort"}),
}
REQUEST_FAULTS = frozenset(EXPECTED)
SCRIPTED = b"fake provider: scripted HTTP "
ABORT_AFTER_S = 0.2
SLOW_UPSTREAM_MS = 1500


@dataclass
class Req:
    i: int
    due: float
    phase: str
    route: str
    stream: bool
    fault: str | None
    rid: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Outcome:
    outcome: str
    status: int | None = None
    hid: str | None = None
    hstatus: str | None = None
    detail: str | None = None
    first_byte_at: float | None = None
    """time.monotonic() of the first body chunk (streams only)."""


def build_request(i: int, due: float, phase: str, rng: random.Random, a: argparse.Namespace) -> Req:
    # A fixed number of draws per request keeps the sequence identical between runs.
    anthropic = rng.random() < a.anthropic_share
    stream = rng.random() < a.stream_share
    faulted = rng.random() < a.fault_share
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    fault = phase if faulted and phase in REQUEST_FAULTS else None
    headers = {
        "Content-Type": "application/json",
        "Helicone-Auth": f"Bearer {a.key}",
        "Helicone-Request-Id": rid,
        "Helicone-User-Id": f"soak-user-{i % 50}",
        "Helicone-Property-Phase": phase,
        "Helicone-Property-Fault": fault or "none",
    }
    text = f"Soak request {i}: please answer with a short sentence about the weather today."
    payload: dict[str, Any]
    if anthropic:
        path = "/anthropic/v1/messages"
        headers |= {"x-api-key": "sk-ant-fake", "anthropic-version": "2023-06-01"}
        payload = {
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": text}],
        }
        if stream:
            payload["stream"] = True
    else:
        path = "/openai/v1/chat/completions"
        headers["Authorization"] = "Bearer sk-fake"
        payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
        if stream:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
    if fault == "upstream_500":
        headers["x-fake-status"] = "500"
    elif fault == "upstream_429":
        headers |= {"x-fake-status": "429", "x-fake-retry-after": "1"}
    elif fault == "stream_reset":
        headers["x-fake-cut-after-chunks"] = "3"
    elif fault == "upstream_slow":
        headers["x-fake-delay-ms"] = str(SLOW_UPSTREAM_MS)
        if stream:
            headers["x-fake-chunk-delay-ms"] = "100"
    elif fault == "client_disconnect" and not stream:
        headers["x-fake-delay-ms"] = "1000"
    route = "anthropic" if anthropic else "openai"
    body = json.dumps(payload).encode()
    return Req(i, due, phase, route, stream, fault, rid, path, headers, body)


def _classify_status(status: int, hstatus: str | None, body: bytes, complete: bool) -> str:
    if 200 <= status < 300:
        return "ok" if complete else "incomplete_body"
    if status in (429, 500) and SCRIPTED + str(status).encode() in body and hstatus == "error":
        return f"upstream_{status}"
    return {408: "timeout_408", 500: "gateway_500", 502: "gateway_502", 503: "gateway_503"}.get(
        status, f"http_{status}"
    )


def _complete(req: Req, body: bytes) -> bool:
    if req.stream:
        return (b"message_stop" if req.route == "anthropic" else b"data: [DONE]") in body
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return bool(parsed.get("content") if req.route == "anthropic" else parsed.get("choices"))


async def send_aiohttp(session: aiohttp.ClientSession, base: str, req: Req) -> Outcome:
    abort_early = req.fault == "client_disconnect" and not req.stream
    call = session.post(base + req.path, data=req.body, headers=req.headers)
    try:
        if abort_early:
            try:
                resp = await asyncio.wait_for(call, ABORT_AFTER_S)
            except TimeoutError:
                return Outcome("client_abort", detail="before the response")
        else:
            resp = await call
    except TimeoutError:
        return Outcome("client_timeout")
    except aiohttp.ClientError as exc:
        return Outcome("conn_error", detail=type(exc).__name__)
    out = Outcome(
        "", resp.status, resp.headers.get("helicone-id"), resp.headers.get("helicone-status")
    )
    tail = b""
    try:
        async for chunk in resp.content.iter_any():
            if req.stream and out.first_byte_at is None:
                out.first_byte_at = time.monotonic()
            if req.fault == "client_disconnect":
                resp.close()
                out.outcome = "client_abort"
                return out
            tail = (tail + chunk)[-4096:]
    except TimeoutError:
        resp.close()
        out.outcome = "client_timeout"
        return out
    except aiohttp.ClientError as exc:
        resp.close()
        out.outcome = "stream_cut" if req.stream and resp.status == 200 else "body_cut"
        out.detail = type(exc).__name__
        return out
    finally:
        resp.release()
    out.outcome = _classify_status(resp.status, out.hstatus, tail, _complete(req, tail))
    if out.outcome not in ("ok", "upstream_500", "upstream_429"):
        out.detail = tail[:300].decode(errors="replace")
    return out


async def send_slow_client(host: str, port: int, req: Req, timeout: float) -> Outcome:
    """Sends the head and half the body, then stalls until the gateway answers."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return Outcome("conn_error", detail=type(exc).__name__)
    try:
        lines = [f"POST {req.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in req.headers.items()]
        lines.append(f"Content-Length: {len(req.body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + req.body[: len(req.body) // 2])
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (h.partition(":") for h in header_lines if ":" in h)
        }
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        status = int(status_line.split(" ", 2)[1])
        out = Outcome(
            _classify_status(status, headers.get("helicone-status"), body, False),
            status,
            headers.get("helicone-id"),
            headers.get("helicone-status"),
        )
        if out.outcome != "timeout_408":
            out.detail = body[:300].decode(errors="replace")
        return out
    except TimeoutError:
        return Outcome("client_timeout")
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        return Outcome("conn_error", detail=type(exc).__name__)
    finally:
        writer.close()


class Recorder:
    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh
        self.counts: dict[str, int] = {}
        self.unexpected = 0

    def write(self, req: Req, out: Outcome, latency_s: float | None, late_s: float) -> None:
        ok_unfaulted = req.fault is None and out.outcome == "ok"
        expected = ok_unfaulted or out.outcome in EXPECTED.get(req.fault or "", ())
        self.counts[out.outcome] = self.counts.get(out.outcome, 0) + 1
        self.unexpected += not expected
        row = {
            "i": req.i,
            "t": round(req.due, 4),
            "phase": req.phase,
            "fault": req.fault,
            "route": req.route,
            "stream": req.stream,
            "rid": req.rid,
            "status": out.status,
            "hid": out.hid,
            "hstatus": out.hstatus,
            "outcome": out.outcome,
            "expected": expected,
            "ms": round(latency_s * 1000, 3) if latency_s is not None else None,
            "late_ms": round(late_s * 1000, 3),
        }
        if out.first_byte_at is not None:
            row["ttfb_ms"] = round((out.first_byte_at - req.due) * 1000, 3)
        if out.detail:
            row["detail"] = out.detail
        self.fh.write(json.dumps(row) + "\n")


async def run(a: argparse.Namespace) -> dict[str, Any]:
    plan = Plan.load(a.plan)
    rng = random.Random(a.seed)
    base = f"http://{a.host}:{a.port}"
    total = int(plan.duration * a.rate)
    connector = aiohttp.TCPConnector(limit=a.max_in_flight, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=a.request_timeout)
    in_flight: set[asyncio.Task[None]] = set()
    not_sent = 0
    max_in_flight_seen = 0
    max_late = 0.0
    with a.out.open("w") as fh:
        rec = Recorder(fh)

        async def one(req: Req, sent_at: float) -> None:
            if req.fault == "slow_client":
                out = await send_slow_client(a.host, a.port, req, a.request_timeout)
            else:
                out = await send_aiohttp(session, base, req)
            done = time.monotonic()
            latency = None if out.outcome in ("client_abort", "not_sent") else done - req.due
            rec.write(req, out, latency, sent_at - req.due)

        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as session:
            for i in range(total):
                offset = i / a.rate
                due = a.t0 + offset
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                req = build_request(i, due, plan.phase_at(offset), rng, a)
                now = time.monotonic()
                max_late = max(max_late, now - due)
                if len(in_flight) >= a.max_in_flight:
                    not_sent += 1
                    rec.write(req, Outcome("not_sent"), None, now - due)
                    continue
                task = asyncio.create_task(one(req, now))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                max_in_flight_seen = max(max_in_flight_seen, len(in_flight))
            unfinished = 0
            if in_flight:
                _done, pending = await asyncio.wait(in_flight, timeout=a.request_timeout + 5)
                unfinished = len(pending)
                for task in pending:
                    task.cancel()
    return {
        "scheduled": total,
        "sent": total - not_sent,
        "not_sent": not_sent,
        "unfinished": unfinished,
        "unexpected": rec.unexpected,
        "outcomes": rec.counts,
        "max_in_flight": max_in_flight_seen,
        "max_dispatch_late_ms": round(max_late * 1000, 3),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True, help="gateway key for Helicone-Auth")
    ap.add_argument("--plan", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--t0", type=float, required=True, help="start, on time.monotonic()")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--stream-share", type=float, default=0.3)
    ap.add_argument("--anthropic-share", type=float, default=0.5)
    ap.add_argument("--fault-share", type=float, default=0.3)
    ap.add_argument("--max-in-flight", type=int, default=1000)
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args(argv)
    aio.require_loopback(a.host, "soak")
    aio.print_result(aio.run(run(a)))


if __name__ == "__main__":
    main()
