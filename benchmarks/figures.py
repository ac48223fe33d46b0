"""Timings in milliseconds and their summary figures, shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


def machine_speed_ms() -> float:
    """A fixed pure-Python workload's best time of five: shared machines drift in speed, and this says how
    fast this one was when the figures beside it were taken (lower is faster)."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sum(i * i for i in range(300_000))
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000.0, 2)


@dataclass
class Timings:
    """Durations (or lags) in milliseconds."""

    ms: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.ms.append(seconds * 1000.0)

    def extend(self, other: Timings) -> None:
        self.ms.extend(other.ms)

    def percentile(self, p: float) -> float:
        data = sorted(self.ms)
        if not data:
            return float("nan")
        k = (len(data) - 1) * p / 100.0
        lo, hi = int(k), min(int(k) + 1, len(data) - 1)
        return data[lo] + (data[hi] - data[lo]) * (k - lo)

    def summary(self) -> dict:
        if not self.ms:
            return {"n": 0}
        mean = statistics.fmean(self.ms)
        return {"n": len(self.ms), "mean_ms": round(mean, 3), "p50_ms": round(self.percentile(50), 3),
                "p95_ms": round(self.percentile(95), 3), "p99_ms": round(self.percentile(99), 3),
                "min_ms": round(min(self.ms), 3), "max_ms": round(max(self.ms), 3),
                "per_s": round(1000.0 / mean, 1) if mean > 0 else None}
