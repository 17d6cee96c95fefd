"""Backfill summaries stay small at any size, and merge alike here and in Step Functions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.backfill_fanout import MERGED_SUMMARY, jsonata
from resource_registry.backfill.summary import SAMPLE_SIZE, BackfillSummary, merge_summaries
from tests.step_functions import EXPRESSION, evaluate

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


def run_of(segment: int, namespaces: dict[str, dict[str, list[str]]], **totals: Any) -> Any:
    """A run's JSON summary: names of each kind per namespace."""
    summary = BackfillSummary("verify", segment, 3, None, **totals)
    for namespace, kinds in namespaces.items():
        for kind, names in kinds.items():
            getattr(summary.of(namespace), kind).add(names)
    return summary.to_dict()


# Segments (each a list of its runs), as the state machine's Map hands them to the merge.
MERGE_CASES = {
    "one run": [[run_of(0, {"default": {"resources_found": ["a"]}}, items_read=3)]],
    "segments and continuations over namespaces": [
        [
            run_of(0, {"default": {"unregistered": ["b", "a"]}}, capacity_consumed=0.25),
            run_of(0, {"tenant": {"added": ["z"]}}, items_read=7, capacity_consumed=1.05),
        ],
        [run_of(1, {"default": {"registered_without_defaults": ["ghost"]}}, items_read=2)],
        [run_of(2, {}, items_read=1)],
    ],
    "samples past the sample size": [
        [run_of(segment, {"default": {"added": [f"m-{segment}-{i:02}" for i in range(9)]}})]
        for segment in range(3)
    ],
}


@pytest.mark.parametrize("segments", MERGE_CASES.values(), ids=MERGE_CASES.keys())
def test_the_state_machine_merges_summaries_as_the_local_command_does(
    segments: list[list[dict[str, Any]]],
) -> None:
    runs = [run for segment in segments for run in segment]
    assert EXPRESSION.match(jsonata(MERGED_SUMMARY))
    in_step_functions = evaluate(jsonata(MERGED_SUMMARY), {"input": segments}, {})
    assert in_step_functions == merge_summaries(runs)
