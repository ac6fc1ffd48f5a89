"""The soak's fault schedule, shared by the orchestrator and the load process.

Time is cut into slots of `period` seconds. Slot 0 is steady (warm-up); every later
slot opens with one fault, rotating through `FAULTS`, held for `fault_s` seconds
(`store_down_s` for the store outage), then steady load until the next slot.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

STEADY = "steady"
FAULTS = (
    "upstream_500",
    "stream_reset",
    "slow_client",
    "store_down",
    "upstream_429",
    "upstream_slow",
    "client_disconnect",
)
FAULT_HELP = {
    "upstream_500": "a share of requests get HTTP 500 from the provider (x-fake-status)",
    "stream_reset": "the provider resets the connection mid-response (x-fake-cut-after-chunks)",
    "slow_client": "a share of clients send half their body, then stall",
    "store_down": "the log store refuses writes (SQLite: held exclusive lock; "
    "Postgres: connections refused and backends terminated)",
    "upstream_429": "a share of requests get HTTP 429 + Retry-After from the provider",
    "upstream_slow": "a share of requests wait 1.5 s for the provider's first byte",
    "client_disconnect": "a share of clients hang up mid-stream or before a slow answer",
}


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    phase: str


@dataclass(frozen=True)
class Plan:
    duration: float
    period: float
    fault_s: float
    store_down_s: float
    windows: tuple[Window, ...]

    def phase_at(self, t: float) -> str:
        for w in self.windows:
            if w.start <= t < w.end:
                return w.phase
        return STEADY

    def outages(self) -> list[Window]:
        return [w for w in self.windows if w.phase == "store_down"]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "windows": [asdict(w) for w in self.windows]})

    @staticmethod
    def load(path: Path) -> Plan:
        raw = json.loads(path.read_text())
        windows = tuple(Window(**w) for w in raw.pop("windows"))
        return Plan(**raw, windows=windows)


def make_plan(
    duration: float,
    period: float | None = None,
    fault_s: float | None = None,
    store_down_s: float | None = None,
) -> Plan:
    """Defaults: 30 s slots (10 s faults, 20 s outage) for runs of 5 min or more;
    shorter runs squeeze every fault in once (e.g. 60 s -> 7.5 s slots)."""
    if period is None:
        period = 30.0 if duration >= 300 else max(4.0, duration / (len(FAULTS) + 1))
    if fault_s is None:
        fault_s = min(10.0, period / 3)
    if store_down_s is None:
        store_down_s = min(20.0, period * 2 / 3)
    windows: list[Window] = []
    slot = 0
    while slot * period < duration:
        start = slot * period
        end = min(duration, start + period)
        if slot == 0:
            windows.append(Window(start, end, STEADY))
        else:
            fault = FAULTS[(slot - 1) % len(FAULTS)]
            length = store_down_s if fault == "store_down" else fault_s
            cut = min(end, start + length)
            windows.append(Window(start, cut, fault))
            if cut < end:
                windows.append(Window(cut, end, STEADY))
        slot += 1
    return Plan(duration, period, fault_s, store_down_s, tuple(windows))
