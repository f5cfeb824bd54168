"""Reading a /metrics page the way Prometheus does, and turning it into observations.

The page is parsed with prometheus_client's own parser (text_string_to_metric_families);
everything below works on the parsed samples only. Each function returns a number or a
boolean for the host to score, plus notes (plain sentences) for the learner's log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "llm_requests_total"
DURATION = "llm_request_duration_seconds"
TTFT = "llm_time_to_first_token_seconds"
TOKENS = "llm_tokens_total"
IN_FLIGHT = "llm_requests_in_flight"
DRIFT = "llm_input_drift_score"

DRIFT_THRESHOLD = 0.2
SLO_SECONDS = 1.0
# Buckets that fit (the brief states these): a duration histogram resolving fast errors
# and covering long streams, a TTFT histogram with the objective as a boundary.
DURATION_SMALLEST_AT_MOST = 0.1
DURATION_LARGEST_AT_LEAST = 60.0
DURATION_MIN_BUCKETS = 8
TTFT_BELOW_SLO_AT_LEAST = 3
TTFT_LARGEST_AT_LEAST = 10.0
PER_SERIES_LABELS = ("le", "quantile")  # labels that split one series into buckets, not into series


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Page:
    """One scrape, parsed: every sample, and each family's declared type."""

    samples: list[Sample] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    def named(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name]

    def total(self, name: str) -> float | None:
        found = self.named(name)
        return sum(s.value for s in found) if found else None

    def by_label(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.named(name):
            key = s.labels.get(label, "(no label)")
            out[key] = out.get(key, 0.0) + s.value
        return out


def parse(text: str) -> Page:
    """Raises ValueError (or another parser error) on a page Prometheus could not read."""
    page = Page()
    for family in text_string_to_metric_families(text):
        page.types[family.name] = family.type
        for s in family.samples:
            page.samples.append(Sample(s.name, dict(s.labels), float(s.value)))
    return page


def miscounted(got: dict[str, float], expected: dict[str, int], label: str, truth: str) -> list[str]:
    """The label values whose count differs (missing or extra ones included), described."""
    wrong = []
    for key in sorted(set(got) | set(expected)):
        have, want = got.get(key, 0.0), expected.get(key, 0)
        if have != want:
            wrong.append(f'{label}="{key}": counted {have:g}, {truth} {want}')
    return wrong


# -- histograms ---------------------------------------------------------------------------


@dataclass
class Series:
    """One labelled series of a histogram: its buckets (upper bound -> cumulative count)."""

    buckets: dict[float, float] = field(default_factory=dict)
    count: float | None = None
    sum: float | None = None


@dataclass
class Histogram:
    name: str
    declared: str | None  # the family's TYPE line
    series: dict[tuple[tuple[str, str], ...], Series]  # label set (le left out) -> series

    @property
    def bounds(self) -> list[float]:
        """The finite bucket boundaries (of the first series; prometheus_client gives all the same)."""
        for s in self.series.values():
            return sorted(b for b in s.buckets if math.isfinite(b))
        return []

    def count(self) -> float:
        return sum(s.count or 0.0 for s in self.series.values())

    def above(self, bound: float) -> float:
        """Observations greater than `bound` (a bucket boundary), over every series."""
        return sum(s.count - s.buckets[bound] for s in self.series.values()
                   if bound in s.buckets and s.count is not None)


def histogram(page: Page, name: str) -> Histogram | None:
    series: dict[tuple[tuple[str, str], ...], Series] = {}

    def entry(labels: dict[str, str]) -> Series:
        return series.setdefault(tuple(sorted((k, v) for k, v in labels.items() if k != "le")), Series())

    for s in page.named(name + "_bucket"):
        try:
            le = float(s.labels.get("le", "nan"))
        except ValueError:
            continue
        entry(s.labels).buckets[le] = s.value
    for s in page.named(name + "_count"):
        entry(s.labels).count = s.value
    for s in page.named(name + "_sum"):
        entry(s.labels).sum = s.value
    if not series:
        return None
    return Histogram(name, page.types.get(name), series)


def largest_bound_at_most(h: Histogram | None, limit: float) -> float | None:
    candidates = [b for b in (h.bounds if h else []) if b <= limit]
    return max(candidates) if candidates else None


def bucket_problems(duration: Histogram | None, ttft: Histogram | None) -> list[str]:
    problems = []
    if duration is None or not duration.bounds:
        problems.append(f"{DURATION} has no buckets")
    else:
        b = duration.bounds
        if b[0] > DURATION_SMALLEST_AT_MOST:
            problems.append(f"{DURATION}: smallest bucket {b[0]:g} s, needs one at {DURATION_SMALLEST_AT_MOST:g} s "
                            f"or below for fast errors")
        if b[-1] < DURATION_LARGEST_AT_LEAST:
            problems.append(f"{DURATION}: largest bucket {b[-1]:g} s, needs one at {DURATION_LARGEST_AT_LEAST:g} s "
                            f"or above: long streams all land in +Inf")
        if len(b) < DURATION_MIN_BUCKETS:
            problems.append(f"{DURATION}: {len(b)} finite buckets, needs at least {DURATION_MIN_BUCKETS}")
    if ttft is None or not ttft.bounds:
        problems.append(f"{TTFT} has no buckets")
    else:
        b = ttft.bounds
        if SLO_SECONDS not in b:
            problems.append(f"{TTFT}: no bucket boundary at the {SLO_SECONDS:g} s objective")
        if sum(x < SLO_SECONDS for x in b) < TTFT_BELOW_SLO_AT_LEAST:
            problems.append(f"{TTFT}: needs at least {TTFT_BELOW_SLO_AT_LEAST} boundaries below {SLO_SECONDS:g} s")
        if b[-1] < TTFT_LARGEST_AT_LEAST:
            problems.append(f"{TTFT}: largest bucket {b[-1]:g} s, needs one at {TTFT_LARGEST_AT_LEAST:g} s or above")
    return problems


def histogram_problems(h: Histogram | None, name: str, elapsed: float) -> list[str]:
    """A histogram Prometheus can use: declared as one, cumulative buckets ending in +Inf
    equal to _count, and a _sum in seconds (no more than count x the run's duration)."""
    if h is None:
        return [f"{name} is not exposed"]
    problems = []
    if h.declared != "histogram":
        problems.append(f"{name} is declared as {h.declared or 'nothing'}, not a histogram")
    for key, s in sorted(h.series.items()):
        where = name + ("{" + ",".join(f'{k}="{v}"' for k, v in key) + "}" if key else "")
        values = [s.buckets[b] for b in sorted(s.buckets)]
        if any(later < earlier for earlier, later in zip(values, values[1:], strict=False)):
            problems.append(f"{where}: bucket counts are not cumulative")
        if math.inf not in s.buckets:
            problems.append(f"{where}: no +Inf bucket")
        elif s.count is None or s.buckets[math.inf] != s.count:
            problems.append(f"{where}: the +Inf bucket ({s.buckets[math.inf]:g}) differs from _count ({s.count})")
        if s.sum is None or not math.isfinite(s.sum) or s.sum < 0:
            problems.append(f"{where}: _sum is missing or negative")
        elif s.count is not None and s.sum > s.count * elapsed:
            problems.append(f"{where}: _sum is {s.sum:g} for {s.count:g} observations in a {elapsed:.0f} s run: "
                            f"observe seconds, not milliseconds")
    return problems


# -- labels -------------------------------------------------------------------------------


def label_values(page: Page) -> tuple[int, str]:
    """The most distinct values any one label takes in any one family, and where."""
    values: dict[tuple[str, str], set[str]] = {}
    for s in page.samples:
        family = s.name
        for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
            if family.endswith(suffix):
                family = family[: -len(suffix)]
                break
        for k, v in s.labels.items():
            if k not in PER_SERIES_LABELS:
                values.setdefault((family, k), set()).add(v)
    if not values:
        return 0, ""
    (family, label), seen = max(values.items(), key=lambda kv: (len(kv[1]), kv[0]))
    return len(seen), f"{family}{{{label}}}"


def gauge(page: Page | None, name: str) -> float | None:
    if page is None:
        return None
    found = page.named(name)
    return max(s.value for s in found) if found else None
