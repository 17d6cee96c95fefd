"""A Step Functions state machine that runs the backfill over every scan segment in parallel.

Each segment loops on its continuation until the backfill function reports it done; the merged
summary adds up the runs. Input: ``{"mode": "backfill" | "verify" | "prune", "total_segments": N}``.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.nag import acknowledge
from resource_registry.backfill.summary import SAMPLE_SIZE, SUMMED, TALLIES

DEFAULT_TOTAL_SEGMENTS = 4
# Segments run at once; DynamoDB spreads a parallel scan's segments over its partitions.
MAX_CONCURRENT_SEGMENTS = 16
# A run stops itself before the function's 15 minutes; past this the execution is stuck.
EXECUTION_TIMEOUT = Duration.hours(12)
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def jsonata(expression: str) -> str:
    """A JSONata expression as Step Functions embeds it in a field."""
    return f"{{% {expression} %}}"


# The input's segment count, or the default.
TOTAL_SEGMENTS = (
    f"($exists($states.input.total_segments) ? $states.input.total_segments"
    f" : {DEFAULT_TOTAL_SEGMENTS})"
)
# The function's event: the contract's fields, from the segment's item or from the previous run's
# summary (which carries the same ones).
NEXT_EVENT = {
    field: jsonata(f"$states.input.{field}")
    for field in ("mode", "namespace", "segment", "total_segments", "continuation")
}
# A run's summary holds counts and a bounded sample of names, never every name, so the runs of a
# segment stay far below Step Functions' 256 KB whatever the registry's size.
RUN_SUMMARY = "$states.result.Payload"
COUNTS = "[" + ", ".join(f"'{kind}'" for kind in TALLIES) + "]"
# The Map's output is a list of runs per segment: flatten it and add the runs up. The same merge
# as resource_registry.backfill.summary.merge_summaries (the local command's), field for field
# from the same lists; tests/unit/test_backfill_summary.py runs both on the same cases.
SUMS = "".join(f"\n    '{field}': $sum($runs.{field})," for field in SUMMED)
MERGED_SUMMARY = f"""(
  $runs := $reduce($states.input, $append, []);
  $counts := {COUNTS};
  {{
    'mode': $runs[0].mode,
    'total_segments': $runs[0].total_segments,
    'namespace': $runs[0].namespace,
    'invocations': $count($runs),
    'capacity_consumed': $round($sum($runs.capacity_consumed), 1),{SUMS}
    'sample': $merge($map($keys($runs[0].sample), function($k) {{
      {{$k: [$sort($distinct([$lookup($runs.sample, $k)]))[[0..{SAMPLE_SIZE - 1}]]]}}
    }})),
    'namespaces': $merge([$map($sort($distinct([$keys($runs.namespaces)])), function($n) {{
      {{$n: $merge($map($counts, function($k) {{
        {{$k: $sum($lookup($lookup($runs.namespaces, $n), $k))}}
      }}))}}
    }})])
  }}
)"""


class BackfillFanOut(Construct):
    """The state machine that fans the backfill function out over scan segments."""

    def __init__(self, scope: Construct, construct_id: str, *, backfill: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        scan_segment = tasks.LambdaInvoke.jsonata(
            self,
            "ScanSegment",
            lambda_function=backfill,
            payload=sfn.TaskInput.from_object(NEXT_EVENT),
            outputs=jsonata(RUN_SUMMARY),
            assign={"runs": jsonata(f"$append($runs, [{RUN_SUMMARY}])")},
        )
        start_segment = sfn.Pass.jsonata(
            self, "StartSegment", assign={"runs": jsonata("[]")}, outputs=jsonata("$states.input")
        )
        segment_done = sfn.Pass.jsonata(self, "SegmentDone", outputs=jsonata("$runs"))
        unfinished = sfn.Condition.jsonata(jsonata("$states.input.continuation != null"))
        more_to_scan = (
            sfn.Choice.jsonata(self, "MoreToScan")
            .when(unfinished, scan_segment)
            .otherwise(segment_done)
        )
        segment = start_segment.next(scan_segment).next(more_to_scan)

        segments = sfn.Map.jsonata(
            self,
            "Segments",
            items=sfn.ProvideItems.jsonata(jsonata(f"[0..{TOTAL_SEGMENTS} - 1]")),
            jsonata_item_selector=jsonata(
                "{'mode': $states.input.mode, 'segment': $states.context.Map.Item.Value,"
                " 'namespace': $exists($states.input.namespace) ? $states.input.namespace : null,"
                f" 'total_segments': {TOTAL_SEGMENTS}, 'continuation': null}}"
            ),
            max_concurrency=MAX_CONCURRENT_SEGMENTS,
        )
        segments.item_processor(segment)
        merge = sfn.Pass.jsonata(self, "MergeSummaries", outputs=jsonata(MERGED_SUMMARY))

        log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(segments.next(merge)),
            query_language=sfn.QueryLanguage.JSONATA,
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5",
            "Step Functions delivers execution logs (logs:*LogDelivery, resource policies) and "
            "X-Ray traces with actions that are authorised only on resource '*'",
            finding="Resource::*",
        )
        acknowledge(
            self.state_machine,
            "AwsSolutions-IAM5",
            "CDK grants a LambdaInvoke task the function's ARN and its versions ('<arn>:*'); the "
            "wildcard covers versions of the backfill function only",
            finding=f"Resource::<{backfill_logical_id(backfill)}.Arn>:*",
        )
        # The role ARN already orders the role first (cfn-lint W3005); only its policy needs a wait.
        state_machine_resource = self.state_machine.node.default_child
        policy = self.state_machine.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(state_machine_resource, CfnResource)
        assert isinstance(policy, CfnResource)
        state_machine_resource.add_override("DependsOn", [Stack.of(self).get_logical_id(policy)])


def backfill_logical_id(function: lambda_.IFunction) -> str:
    """The logical id cdk-nag names the function by in its findings."""
    resource = function.node.default_child
    assert isinstance(resource, CfnResource)
    return Stack.of(function).get_logical_id(resource)
