"""The layers every function loads: this service's package, and AWS's Powertools layer."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.sources import pinned_version

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
POWERTOOLS_PACKAGE = "aws-lambda-powertools"


def powertools_layer_parameter(version: str) -> str:
    """The public SSM parameter holding the ARN of the Powertools v3 layer at ``version``."""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


class FunctionLayers(Construct):
    """The shared ``resource_registry`` package as a layer, plus the AWS-managed Powertools layer.

    boto3 comes from the Lambda runtime, so no layer carries it. ``code_dir`` is the layer as
    infra/lambda_assets.py builds it: the package with its bytecode for the runtime.
    """

    def __init__(self, scope: Construct, construct_id: str, *, code_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            code=lambda_.Code.from_asset(str(code_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="resource_registry: keys, validation, the registry store, observability",
        )
        # Resolved by CloudFormation at deploy time, so synth needs no AWS account; the version is
        # the one requirements.txt pins, so the layer matches what the tests ran against.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, powertools_layer_parameter(pinned_version(POWERTOOLS_PACKAGE))
        )
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_arn
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        """Every layer, in the order a function lists them."""
        return [self.powertools, self.shared]
