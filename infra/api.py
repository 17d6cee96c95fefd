"""The REST API of docs/contract.md section 3: IAM-authorised methods built from the route table."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from handlers import routes
from handlers.error_codes import EdgeErrorCode
from handlers.routes import JSON_MEDIA_TYPE
from infra.nag import acknowledge
from resource_registry.errors import ErrorCode
from resource_registry.observability import SERVICE_NAME
from resource_registry.validation import (
    LIMIT_FIELDS,
    MAX_LIMITS,
    MIN_LIMITS,
    NAME_PATTERN,
    NUMBER_BOUNDS,
    REQUIRED_LIMIT_FIELDS,
    RESOURCE_NAME_PATTERN,
)

STAGE_NAME = "v1"
# Shared by all callers. Every write also updates the one registry item (docs/decisions/0001), so
# writes cannot scale past what that single item sustains anyway.
THROTTLING_RATE_LIMIT = 100
THROTTLING_BURST_LIMIT = 200
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# The handlers' error shape. Not $context.error.validationErrorString: it holds unescaped quotes
# (["integer"]), which would make the body invalid JSON.
INVALID_BODY_TEMPLATE = json.dumps(
    {
        "message": "the request body does not match the schema of PUT "
        "/resources/{resource}/defaults (docs/openapi.json)",
        "code": ErrorCode.INVALID_INPUT.value,
    }
)


# API Gateway's own refusals (before any function runs), each with its code in the handlers' error
# shape; the defaults catch every response type not named here (502 and 504 among them).
GATEWAY_ERROR_CODES: dict[str, EdgeErrorCode] = {
    "ACCESS_DENIED": EdgeErrorCode.ACCESS_DENIED,
    "EXPIRED_TOKEN": EdgeErrorCode.EXPIRED_TOKEN,
    "INVALID_SIGNATURE": EdgeErrorCode.INVALID_SIGNATURE,
    # Also what API Gateway answers for a path it has no route for.
    "MISSING_AUTHENTICATION_TOKEN": EdgeErrorCode.MISSING_AUTHENTICATION,
    "THROTTLED": EdgeErrorCode.THROTTLED,
    "REQUEST_TOO_LARGE": EdgeErrorCode.CONTENT_TOO_LARGE,
    "UNSUPPORTED_MEDIA_TYPE": EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE,
    "DEFAULT_4XX": EdgeErrorCode.GATEWAY_REFUSED,
    "DEFAULT_5XX": EdgeErrorCode.GATEWAY_ERROR,
}


def gateway_error_template(code: EdgeErrorCode) -> str:
    """The error body for one of API Gateway's own answers.

    $context.error.messageString is API Gateway's message already quoted as a JSON string.
    """
    return '{"message": $context.error.messageString, "code": "' + code.value + '"}'


def set_defaults_body_schema() -> apigw.JsonSchema:
    """The PUT body ``{"limits": [...]}``, with the bounds resource_registry.validation enforces."""
    name = apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern=f"^{NAME_PATTERN.pattern}$")
    resource = apigw.JsonSchema(
        type=apigw.JsonSchemaType.STRING, pattern=f"^{RESOURCE_NAME_PATTERN.pattern}$"
    )
    numbers = {
        field: apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=lowest, maximum=highest)
        for field, (lowest, highest) in NUMBER_BOUNDS.items()
    }
    limit = apigw.JsonSchema(
        type=apigw.JsonSchemaType.OBJECT,
        required=list(REQUIRED_LIMIT_FIELDS),
        additional_properties=False,
        properties={field: numbers.get(field, name) for field in LIMIT_FIELDS},
    )
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title="SetDefaultsRequest",
        type=apigw.JsonSchemaType.OBJECT,
        required=["limits"],
        additional_properties=False,
        properties={
            "limits": apigw.JsonSchema(
                type=apigw.JsonSchemaType.ARRAY,
                min_items=MIN_LIMITS,
                max_items=MAX_LIMITS,
                items=limit,
            ),
            # The handler accepts the resource in the body too, when it equals the path's.
            "resource": resource,
        },
    )


class RegistryApi(Construct):
    """A regional REST API whose every method is IAM-authorised and served by one function."""

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=ACCESS_LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=SERVICE_NAME,
            description="Resource registry: default limits of resources (docs/contract.md)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM
            ),
            # API Gateway writes logs through an account-wide role; see docs/deploy.md.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLING_RATE_LIMIT,
                throttling_burst_limit=THROTTLING_BURST_LIMIT,
                # Execution logs for failures only; the access log already records every request.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        # The stack outputs the URL once, under a stable name (ApiUrl).
        self.rest_api.node.try_remove_child("Endpoint")
        self.rest_api.add_gateway_response(
            "InvalidBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={JSON_MEDIA_TYPE: INVALID_BODY_TEMPLATE},
        )
        for response_type, code in GATEWAY_ERROR_CODES.items():
            self.rest_api.add_gateway_response(
                f"Gateway{code}",
                type=apigw.ResponseType.of(response_type),
                templates={JSON_MEDIA_TYPE: gateway_error_template(code)},
            )
        self._validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        self._body_models = {
            routes.SET_DEFAULTS: self.rest_api.add_model(
                "SetDefaultsRequest",
                model_name="SetDefaultsRequest",
                content_type=JSON_MEDIA_TYPE,
                schema=set_defaults_body_schema(),
            )
        }
        for route in routes.API_ROUTES:
            self._add_route(route, functions[route.function_id])
        self._acknowledge_findings()

    def _add_route(self, route: routes.Route, function: lambda_.IFunction) -> None:
        model = self._body_models.get(route)
        for path in route.paths:
            method = self.rest_api.root.resource_for_path(path).add_method(
                route.method,
                # Only the deployed stage may invoke the function: no standing console test grant.
                apigw.LambdaIntegration(function, allow_test_invoke=False),
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=self._validator,
                request_parameters={
                    f"method.request.path.{name}": True for name in routes.path_parameters(path)
                },
                request_models={JSON_MEDIA_TYPE: model} if model else None,
            )
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "docs/contract.md, HTTP API: callers are IAM principals signing with SigV4, not "
                "Cognito users, so the method uses AWS_IAM authorisation instead of a user pool",
            )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4",
            "API Gateway's account-wide logging role uses the AWS-managed policy made for it, "
            "which can only write to CloudWatch Logs",
            finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            "AwsSolutions-APIG3",
            "Every method requires SigV4-signed IAM credentials and the stage is throttled; a WAF "
            "web ACL is left to the account's edge policy",
        )
