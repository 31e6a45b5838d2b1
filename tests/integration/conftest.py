"""Integration fixtures: moto in-process, tables and buckets built from template.yaml (never re-declared)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from infra.local.deploy import Deployment, create_resources
from parcelflow import deps
from parcelflow.adapters.dynamodb import DynamoDbTable


@pytest.fixture
def aws_resource_types() -> set[str]:
    """The resource types of template.yaml that `aws` creates; a test module overrides it to get more."""
    return {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, aws_resource_types: set[str]) -> Iterator[Deployment]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        deployment = create_resources(aws_resource_types)
        deps.reset()
        yield deployment
        deps.reset()


@pytest.fixture
def repo(aws: Deployment) -> DynamoDbTable:
    return DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
