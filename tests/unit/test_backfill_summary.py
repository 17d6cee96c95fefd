"""Backfill summaries stay small at any registry size: counts, and a bounded sample of names."""

from __future__ import annotations

import json

from resource_registry.backfill import SAMPLE_SIZE, BackfillSummary, merge_summaries

# The registry's capacity in names of 16 characters (docs/decisions/0004-one-registry-item.md).
FULL_REGISTRY = 25_598
STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024


def full_run(segment: int, total: int) -> BackfillSummary:
    """A first backfill's run that found (and added) its share of a full registry."""
    summary = BackfillSummary("backfill", segment, total)
    names = [f"model-{index:010}" for index in range(segment, FULL_REGISTRY, total)]
    for namespace in ("default", "tenant-a"):
        tally = summary.of(namespace)
        tally.resources_found.add(names)
        tally.added.add(names)
        tally.unregistered.add(names)
    return summary


def test_a_run_that_adds_a_full_registry_answers_counts_and_a_sample() -> None:
    summary = full_run(0, 1).to_dict()

    assert len(json.dumps(summary)) < 4 * 1024
    assert summary["added"] == summary["resources_found"] == 2 * FULL_REGISTRY
    assert summary["namespaces"]["tenant-a"]["added"] == FULL_REGISTRY
    assert len(summary["sample"]["added"]) == SAMPLE_SIZE


def test_the_merge_of_every_segment_stays_under_step_functions_limit() -> None:
    runs = [full_run(segment, 16).to_dict() for segment in range(16)]

    merged = merge_summaries(runs)

    assert len(json.dumps(runs)) < STEP_FUNCTIONS_PAYLOAD_LIMIT  # what the Map hands the merge
    assert len(json.dumps(merged)) < 4 * 1024
    assert merged["added"] == 2 * FULL_REGISTRY
    assert merged["invocations"] == 16
    assert merged["sample"]["added"] == sorted(merged["sample"]["added"])[:SAMPLE_SIZE]
    assert merged["namespaces"]["default"]["resources_found"] == FULL_REGISTRY
