"""What a run did and what it found, as a short text for people or as JSON for the benchmarks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HarnessReport:
    """What the run did and what it found; ``violations`` should be empty."""

    operations: Counter[str] = field(default_factory=Counter)
    transactions: int = 0
    transactions_cancelled: int = 0
    cancellation_reasons: Counter[str] = field(default_factory=Counter)
    botocore_retries: int = 0
    retries_ran_out: int = 0
    reconciler_runs: Counter[str] = field(default_factory=Counter)
    reconciler_changes: Counter[str] = field(default_factory=Counter)
    checkpoints: int = 0
    torn_reads: int = 0
    violations: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    # zae-limiter-like writes (interrupted: no registry update) and the healer's change events.
    foreign_writes: int = 0
    healer_events: int = 0

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    @property
    def conflicts_retried(self) -> int:
        """Cancelled transactions the store tried again (the rest ended in a 409)."""
        return self.transactions_cancelled - self.retries_ran_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": self.total_operations,
            "by_outcome": dict(sorted(self.operations.items())),
            "transactions": self.transactions,
            "transactions_cancelled": self.transactions_cancelled,
            "cancellation_reasons": dict(self.cancellation_reasons),
            "conflicts_retried": self.conflicts_retried,
            "retries_ran_out": self.retries_ran_out,
            "botocore_retries": self.botocore_retries,
            "reconciler_runs": dict(self.reconciler_runs),
            "reconciler_changes": dict(self.reconciler_changes),
            "checkpoints": self.checkpoints,
            "torn_reads": self.torn_reads,
            "violations": self.violations,
            "elapsed_seconds": round(self.elapsed_seconds, 1),
            "foreign_writes": self.foreign_writes,
            "healer_events": self.healer_events,
        }

    def render(self) -> str:
        """A short human-readable report."""
        rate = self.total_operations / self.elapsed_seconds if self.elapsed_seconds else 0.0
        outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(self.operations.items()))
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.cancellation_reasons.items()))
        runs = ", ".join(f"{k} {v}" for k, v in sorted(self.reconciler_runs.items()))
        changes = ", ".join(f"{k} {v}" for k, v in sorted(self.reconciler_changes.items()))
        lines = [
            f"concurrency harness: {self.elapsed_seconds:.1f} s",
            f"  operations          {self.total_operations} ({rate:.0f}/s)",
            f"    by outcome        {outcomes}",
            f"  transactions        {self.transactions}, cancelled {self.transactions_cancelled}"
            f" ({reasons or 'none'})",
            f"  conflicts retried   {self.conflicts_retried}"
            f" (retries ran out, answered 409: {self.retries_ran_out})",
            f"  botocore retries    {self.botocore_retries}",
            f"  reconciler runs     {runs or 'none'} (changes: {changes or 'none'})",
            f"  checkpoints         {self.checkpoints}",
            f"  torn reads          {self.torn_reads} (a GET whose limits mixed two writes)",
            f"  zae-limiter writes  {self.foreign_writes} (each without its registry update; the"
            f" healer published {self.healer_events} change events)",
            f"  violations          {len(self.violations)}",
        ]
        lines += [f"    - {violation}" for violation in self.violations[:20]]
        return "\n".join(lines)

    def merge_writer(self, summary: dict[str, Any]) -> None:
        """Add what one writer did and found (its summary at its end)."""
        self.operations.update(summary["outcomes"])
        self.violations += summary["violations"]
        self.torn_reads += summary["torn_reads"]
        self.retries_ran_out += summary["retries_ran_out"]
        self.transactions += summary["transactions"]
        self.transactions_cancelled += summary["cancelled"]
        self.cancellation_reasons.update(summary["reasons"])
        self.botocore_retries += summary["botocore_retries"]
