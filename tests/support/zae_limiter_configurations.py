"""What the property tests against zae-limiter share: strategies that draw limits as each release's
own ``Limit`` takes them (valid by its rules), and the ledger that records every check of every
example instead of stopping at the first (an example costs a second of zae-limiter's writes).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

# zae-limiter 0.17's own bounds (schedule.MAX_TOKENS, MAX_PERIOD_SECONDS); 0.9.1 has none.
MAX_TOKENS = 10**15
MAX_PERIOD_SECONDS = 10**9
# What a limit is on 0.17; every kind but "plain" is one the API cannot write back
# (docs/contract.md, section 1).
PLAIN, SOFT, SCHEDULED, QUOTA, WINDOWED = "plain", "soft", "scheduled", "quota", "windowed"
KINDS = (PLAIN, SOFT, SCHEDULED, QUOTA, WINDOWED)
# None: not passed to zae-limiter (it then keeps what is stored: nothing).
DISABLED: tuple[bool | str | None, ...] = (None, True, False, "bypass")
CASCADE: tuple[bool | None, ...] = (None, True, False)
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata")
PARAMETER_CRONS = ("* 9-17 * * 1-5", "* * * * 0,6", "0-29 * * * *", "* 0-6 * * *")
RESET_CRONS = ("0 0 * * *", "0 0 1 * *", "0 9 * * 1")
OBSERVED_CHARS = 240
# A 500's message names its request id; outcomes are grouped without it.
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_fractional(value: Any) -> bool:
    return isinstance(value, float) and not value.is_integer()


# A fractional number travels to the probe as a float (as an application passes one to Limit) and
# zae-limiter stores str(float). With at most 13 significant digits the float's shortest repr is
# the decimal drawn, so the stored number is exactly the Decimal the test expects.
FRACTIONS = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3, allow_nan=False
).map(float)


def positive(maximum: int, fractions: bool) -> st.SearchStrategy[int | float]:
    """A number zae-limiter takes; with ``fractions``, an integer or a fraction at random."""
    integers = st.integers(1, maximum)
    return st.one_of(integers, FRACTIONS) if fractions else integers


@st.composite
def schedule_entry(draw: st.DrawFn, tz: str) -> dict[str, Any]:
    modifier = draw(
        st.one_of(
            st.fixed_dictionaries({"scale": st.sampled_from([0.5, 2.5, 10])}),
            st.fixed_dictionaries({"capacity": st.integers(1, 10**6)}),
            st.fixed_dictionaries(
                {
                    "capacity": st.integers(1, 10**6),
                    "refill_amount": st.integers(1, 10**6),
                    "refill_period_seconds": st.integers(1, 86_400),
                }
            ),
        )
    )
    return {"cron": draw(st.sampled_from(PARAMETER_CRONS)), "tz": tz, **modifier}


@st.composite
def limit_of_0_17(
    draw: st.DrawFn, name: str, kind: str, tz: str, fractions: bool
) -> dict[str, Any]:
    """One limit as zae-limiter 0.17's Limit.from_dict takes it: valid by its own rules."""
    limit: dict[str, Any] = {
        "name": name,
        "capacity": draw(positive(MAX_TOKENS, fractions)),
        "refill_amount": draw(positive(MAX_TOKENS, fractions)),
        "refill_period_seconds": draw(positive(MAX_PERIOD_SECONDS, fractions)),
    }
    if kind == SCHEDULED:
        limit["schedule"] = draw(st.lists(schedule_entry(tz), min_size=1, max_size=3))
    if kind in {QUOTA, WINDOWED}:
        # A limit drips or resets, never both (zae-limiter's ADR-137): a reset means refill 0.
        limit["refill_amount"] = 0
    if kind == QUOTA:
        limit["reset_schedule"] = [{"cron": draw(st.sampled_from(RESET_CRONS)), "tz": tz}]
    if kind == WINDOWED:
        limit["reset_after_seconds"] = draw(st.integers(1, MAX_PERIOD_SECONDS))
    if kind == SOFT or (kind in {QUOTA, WINDOWED} and draw(st.booleans())):
        limit["soft"] = True
    return limit


@st.composite
def limit_of_0_9(draw: st.DrawFn, name: str, fractions: bool) -> dict[str, Any]:
    """One limit as zae-limiter 0.9.1's Limit takes it: refill > 0, burst >= capacity."""
    capacity = draw(positive(MAX_TOKENS, fractions))
    burst = capacity
    if draw(st.booleans()):
        if isinstance(capacity, int):
            burst = capacity + draw(st.integers(0, 10**6))
        else:
            extra = draw(st.decimals(min_value=0, max_value=10**6, places=3))
            burst = float(Decimal(repr(capacity)) + extra)
    return {
        "name": name,
        "capacity": capacity,
        "burst": burst,
        "refill_amount": draw(positive(MAX_TOKENS, fractions)),
        "refill_period_seconds": draw(positive(MAX_PERIOD_SECONDS, fractions)),
    }


@dataclass
class Ledger:
    """Every check of every example: what broke, how, how often, first where; and what was run
    (``exercised``, counted by the test, shown by its ``summary``)."""

    version: str
    failures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    checks: Counter[str] = field(default_factory=Counter)
    exercised: Counter[str] = field(default_factory=Counter)

    def check(self, prop: str, holds: bool, example: str, observed: Callable[[], str]) -> bool:
        self.checks[prop] += 1
        if not holds:
            self.failures.setdefault(prop, []).append((example, observed()[:OBSERVED_CHARS]))
        return holds

    def summary(self) -> str:
        return (
            f"zae-limiter {self.version}: {self.checks.total()} checks of "
            f"{len(self.checks)} properties"
        )

    def report(self) -> str:
        lines = [f"{len(self.failures)} properties broke on zae-limiter {self.version}:"]
        for prop, seen in self.failures.items():
            lines.append(f"- {prop}: broke in {len(seen)} of {self.checks[prop]} checks")
            outcomes = Counter(REQUEST_ID.sub("<id>", observed) for _, observed in seen)
            lines += [f"    {n} x {observed}" for observed, n in outcomes.most_common(6)]
            lines.append(f"    first in: {seen[0][0]}")
        lines.append(self.summary())
        return "\n".join(lines)
