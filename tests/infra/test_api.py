"""The REST API: the route table's routes, IAM auth, body validation, stage settings, outputs."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs
import pytest
from aws_cdk.assertions import Match

from handlers import routes
from handlers.error_codes import ERROR_CODES
from handlers.request_parsing import parse_set_request
from resource_registry.errors import InvalidInputError
from resource_registry.validation import MAX_LIMITS, MAX_TOKENS, NUMBER_BOUNDS
from tests.infra.conftest import HANDLERS, Synthesized, synthesize

LIMIT = {"name": "requests", "capacity": 10, "refill_period_seconds": 60}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


def resource_paths(synthesized: Synthesized) -> dict[str, str]:
    """The full path of every API resource, found by walking each PathPart up its ParentId chain."""
    resources = synthesized.of_type("AWS::ApiGateway::Resource")

    def path_of(logical_id: str) -> str:
        properties = resources[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{properties['PathPart']}"

    return {logical_id: path_of(logical_id) for logical_id in resources}


def method_path(synthesized: Synthesized, method: dict[str, Any]) -> str:
    resource = method["Properties"]["ResourceId"]
    return resource_paths(synthesized)[resource["Ref"]] if "Ref" in resource else "/"


def integrated_handler(synthesized: Synthesized, method: dict[str, Any]) -> str:
    """The handler of the function a method's Lambda proxy integration invokes."""
    uri = json.dumps(method["Properties"]["Integration"]["Uri"])
    (function_id,) = [
        logical_id
        for logical_id in synthesized.of_type("AWS::Lambda::Function")
        if json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in uri
    ]
    return str(synthesized.resources[function_id]["Properties"]["Handler"])


def methods(synthesized: Synthesized) -> list[dict[str, Any]]:
    return list(synthesized.of_type("AWS::ApiGateway::Method").values())


def model_schema(synthesized: Synthesized) -> dict[str, Any]:
    puts = [m for m in methods(synthesized) if m["Properties"]["HttpMethod"] == "PUT"]
    # The same model validates the PUT in every namespace.
    (model_id,) = {m["Properties"]["RequestModels"]["application/json"]["Ref"] for m in puts}
    schema: dict[str, Any] = synthesized.resources[model_id]["Properties"]["Schema"]
    return schema


def test_api_serves_exactly_the_routes_of_the_route_table(synthesized: Synthesized) -> None:
    served = {
        (method["Properties"]["HttpMethod"], method_path(synthesized, method))
        for method in methods(synthesized)
    }
    assert served == {(route.method, path) for route in routes.API_ROUTES for path in route.paths}


def test_each_method_invokes_its_routes_handler(synthesized: Synthesized) -> None:
    by_method = {
        (route.method, path): route.handler for route in routes.API_ROUTES for path in route.paths
    }
    for method in methods(synthesized):
        key = (method["Properties"]["HttpMethod"], method_path(synthesized, method))
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"
        assert integrated_handler(synthesized, method) == by_method[key]


def test_backfill_is_not_reachable_from_the_api(synthesized: Synthesized) -> None:
    backfill_id = synthesized.function_logical_id(routes.BACKFILL_FUNCTION_ID)
    assert all(
        integrated_handler(synthesized, method) != HANDLERS[routes.BACKFILL_FUNCTION_ID]
        for method in methods(synthesized)
    )
    invokers = [
        permission
        for permission in synthesized.of_type("AWS::Lambda::Permission").values()
        if backfill_id in json.dumps(permission["Properties"]["FunctionName"])
    ]
    assert invokers == []


def test_every_method_requires_iam_authorisation(synthesized: Synthesized) -> None:
    assert methods(synthesized)
    for method in methods(synthesized):
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"


def test_every_method_uses_a_validator_of_body_and_parameters(synthesized: Synthesized) -> None:
    ((validator_id, validator),) = synthesized.of_type("AWS::ApiGateway::RequestValidator").items()
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    for method in methods(synthesized):
        assert method["Properties"]["RequestValidatorId"] == {"Ref": validator_id}


def test_put_body_model_mirrors_the_validation_bounds(synthesized: Synthesized) -> None:
    schema = model_schema(synthesized)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["additionalProperties"] is False
    limits = schema["properties"]["limits"]
    assert (limits["minItems"], limits["maxItems"]) == (1, MAX_LIMITS)
    limit = limits["items"]
    assert limit["additionalProperties"] is False
    assert set(limit["required"]) == {"name", "capacity", "refill_period_seconds"}
    assert limit["properties"]["name"]["pattern"] == "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
    for field in ("capacity", "burst", "refill_amount", "refill_period_seconds"):
        lowest, highest = NUMBER_BOUNDS[field]
        bounds = limit["properties"][field]
        assert bounds == {"type": "integer", "minimum": lowest, "maximum": highest}


@pytest.mark.parametrize(
    "body",
    [
        {"limits": [LIMIT]},
        {"limits": [{**LIMIT, "burst": 20, "refill_amount": 5}]},
        {"limits": [{**LIMIT, "name": f"l{index}"} for index in range(MAX_LIMITS)]},
        {"limits": [{**LIMIT, "name": "a" * 64, "capacity": MAX_TOKENS}]},
        {"resource": "api", "limits": [LIMIT]},
    ],
)
def test_model_accepts_what_the_handler_accepts(synthesized: Synthesized, body: Any) -> None:
    parse_set_request(body, "api")
    assert jsonschema_rs.Draft4Validator(model_schema(synthesized)).is_valid(body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"limits": []},
        {"limits": [{**LIMIT, "name": f"l{index}"} for index in range(MAX_LIMITS + 1)]},
        {"limits": [LIMIT], "extra": 1},
        {"limits": [{**LIMIT, "extra": 1}]},
        {"limits": [{**LIMIT, "name": "9lives"}]},
        {"limits": [{**LIMIT, "name": "a" * 65}]},
        {"limits": [{**LIMIT, "name": "a#b"}]},
        {"limits": [{**LIMIT, "capacity": 0}]},
        {"limits": [{**LIMIT, "capacity": 1.5}]},
        {"limits": [{**LIMIT, "capacity": True}]},
        {"limits": [{**LIMIT, "capacity": "10"}]},
        {"limits": [{**LIMIT, "capacity": MAX_TOKENS + 1}]},
        {"limits": [{**LIMIT, "refill_amount": 0}]},
        {"limits": [{"name": "requests", "capacity": 10}]},
    ],
)
def test_model_rejects_what_the_handler_rejects(synthesized: Synthesized, body: Any) -> None:
    with pytest.raises(InvalidInputError):
        parse_set_request(body, "api")
    assert not jsonschema_rs.Draft4Validator(model_schema(synthesized)).is_valid(body)


def gateway_responses(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        response["Properties"]["ResponseType"]: response["Properties"]
        for response in synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
    }


def test_invalid_body_answer_is_json_with_a_message(synthesized: Synthesized) -> None:
    response = {"Properties": gateway_responses(synthesized)["BAD_REQUEST_BODY"]}
    assert response["Properties"]["StatusCode"] == "400"
    template = response["Properties"]["ResponseTemplates"]["application/json"]
    assert "$" not in template  # no variable API Gateway would paste in unescaped
    answer = json.loads(template)
    assert answer["code"] == "InvalidInput"
    assert "schema" in answer["message"]


def test_every_answer_api_gateway_gives_itself_carries_a_code_of_the_list(
    synthesized: Synthesized,
) -> None:
    responses = gateway_responses(synthesized)
    # The defaults catch every type not named (502, 504, ...); the rest are what callers meet.
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "ACCESS_DENIED", "THROTTLED"} <= set(responses)
    for response_type, properties in responses.items():
        template = properties["ResponseTemplates"]["application/json"]
        # What API Gateway pastes in for $context.error.messageString: a quoted JSON string.
        answer = json.loads(template.replace("$context.error.messageString", '"Forbidden"'))
        assert answer["code"] in ERROR_CODES, response_type
        assert answer["message"]


def test_a_resource_in_the_body_follows_the_resource_rule(synthesized: Synthesized) -> None:
    validator = jsonschema_rs.Draft4Validator(model_schema(synthesized))
    assert validator.is_valid({"limits": [LIMIT], "resource": "openai/gpt-4"})
    assert validator.is_valid({"limits": [LIMIT], "resource": "llama3:8b"})
    assert not validator.is_valid({"limits": [LIMIT], "resource": "a#b"})


def test_stage_is_throttled_traced_and_logged(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["TracingEnabled"] is True
    (settings,) = properties["MethodSettings"]
    assert (settings["HttpMethod"], settings["ResourcePath"]) == ("*", "/*")
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] >= settings["ThrottlingRateLimit"]
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False


def test_access_logs_go_to_a_retained_log_group_as_json(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGateway::Stage").values()
    access_log = stage["Properties"]["AccessLogSetting"]
    # The log group's ARN without the ":*" of its Arn attribute (a recommended feature flag).
    (log_group_id,) = re.findall(r'"Ref": "(Api\w+)"', json.dumps(access_log["DestinationArn"]))
    assert '"Fn::GetAtt"' not in json.dumps(access_log["DestinationArn"])
    log_group = synthesized.resources[log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] > 0
    assert json.loads(access_log["Format"])["requestId"] == "$context.requestId"


def test_api_gateway_can_write_logs_in_the_account(synthesized: Synthesized) -> None:
    (account,) = synthesized.of_type("AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert synthesized.resources[role_id]["Type"] == "AWS::IAM::Role"


def test_outputs_name_the_url_the_table_and_the_backfill_function(
    synthesized: Synthesized,
) -> None:
    (table_id,) = synthesized.of_type("AWS::DynamoDB::Table")
    (stage_id,) = synthesized.of_type("AWS::ApiGateway::Stage")
    backfill_id = synthesized.function_logical_id(routes.BACKFILL_FUNCTION_ID)
    outputs = synthesized.template.to_json()["Outputs"]
    assert set(outputs) == {
        "ApiUrl",
        "TableName",
        "BackfillFunctionName",
        "BackfillStateMachineArn",
        "EventBusArn",
        "HealerDeadLetterQueueUrl",
        "AlarmTopicArn",
    }
    assert outputs["TableName"]["Value"] == {"Ref": table_id}
    assert outputs["BackfillFunctionName"]["Value"] == {"Ref": backfill_id}
    synthesized.template.has_output(
        "ApiUrl",
        {"Value": {"Fn::Join": ["", Match.array_with([{"Ref": stage_id}])]}},
    )
