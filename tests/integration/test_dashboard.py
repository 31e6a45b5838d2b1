"""The dashboard of template.yaml deploys on the local stack as on AWS: created in moto's CloudWatch with
every reference resolved to the resources it shows, and the alarms notify the alarm topic (issue 12 §7)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra.local.deploy import DEFAULT_TEMPLATE, deploy
from infra.local.template import TemplateError


def test_the_dashboard_is_created_with_its_references_resolved() -> None:
    with mock_aws():
        deployment = deploy(DEFAULT_TEMPLATE, session=boto3.Session(region_name="us-east-1"))
        dashboard = deployment.resources["Dashboard"]
        stored = boto3.client("cloudwatch", region_name="us-east-1").get_dashboard(
            DashboardName=dashboard.physical_id
        )
    body = stored["DashboardBody"]
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    shown = json.dumps(widgets)
    ids = deployment.physical_ids
    queues = [ids[q].rsplit("/", 1)[-1] for q in ("ConfirmDeadLetterQueue", "SyncDeadLetterQueue")]
    for queue_name in queues:
        assert f'"{queue_name}"' in shown
    assert ids["OrderStateMachine"] in shown
    assert all(w["properties"].get("region", "us-east-1") == "us-east-1" for w in widgets)


def test_a_dashboard_body_that_is_not_a_dashboard_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  Board:\n    Type: AWS::CloudWatch::Dashboard\n"
        '    Properties:\n      DashboardBody: \'{"title": "no widgets"}\'\n'
    )
    with mock_aws(), pytest.raises(TemplateError, match="no widgets list"):
        deploy(template, session=boto3.Session(region_name="us-east-1"))


def test_every_alarm_is_created_notifying_the_alarm_topic() -> None:
    with mock_aws():
        deployment = deploy(DEFAULT_TEMPLATE, session=boto3.Session(region_name="us-east-1"))
        topic = deployment.physical_ids["AlarmTopic"]
        topics = boto3.client("sns", region_name="us-east-1").list_topics()["Topics"]
        alarms = boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"]
    assert topic in [t["TopicArn"] for t in topics]
    assert alarms
    assert all(a["AlarmActions"] == [topic] and a["OKActions"] == [topic] for a in alarms)
