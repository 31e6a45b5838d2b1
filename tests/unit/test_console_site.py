"""Publishing the web console (infra/console_site.py): every file with its type and no-cache, the config the
page boots from, stale files gone; and `make console-deploy` against a deployed stack's outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import console_site
from infra.console_site import ConsoleConfig, deploy_to_stack, publish

REGION = "us-east-1"
CONFIG = ConsoleConfig(REGION, "client-1", "https://cognito-idp.us-east-1.amazonaws.com/")


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="console")
        yield client


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "js" / "views").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>Parcelflow</title>", encoding="utf-8")
    (tmp_path / "js" / "app.js").write_text("export {};\n", encoding="utf-8")
    (tmp_path / "js" / "views" / "stock.js").write_text("export default {};\n", encoding="utf-8")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    return tmp_path


def keys(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket="console").get("Contents", [])}


def test_every_file_goes_up_with_its_type_and_no_cache_and_hidden_files_stay_home(
    s3: Any, site: Path
) -> None:
    written = publish(s3, "console", CONFIG, site)
    assert set(written) == keys(s3) == {"index.html", "js/app.js", "js/views/stock.js", "config.json"}
    index = s3.get_object(Bucket="console", Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8" and index["CacheControl"] == "no-cache"
    # A module served as anything but JavaScript is refused by the browser.
    assert s3.get_object(Bucket="console", Key="js/app.js")["ContentType"] == "text/javascript; charset=utf-8"


def test_the_config_tells_the_page_its_pool_client_and_api(s3: Any, site: Path) -> None:
    publish(s3, "console", CONFIG, site)
    config = json.loads(s3.get_object(Bucket="console", Key="config.json")["Body"].read())
    assert config == {
        "region": REGION,
        "userPoolClientId": "client-1",
        "cognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
        "apiBase": "/v1",
    }


def test_a_file_the_site_no_longer_has_is_deleted_after_the_new_ones_are_up(s3: Any, site: Path) -> None:
    publish(s3, "console", CONFIG, site)
    (site / "js" / "views" / "stock.js").unlink()
    publish(s3, "console", CONFIG, site)
    assert "js/views/stock.js" not in keys(s3) and "js/app.js" in keys(s3)


def test_a_site_without_an_index_is_refused_before_anything_is_written(s3: Any, tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"no index\.html"):
        publish(s3, "console", CONFIG, tmp_path)
    assert keys(s3) == set()


def test_the_real_site_has_its_index_and_app(tmp_path: Path) -> None:
    files = {p.relative_to(console_site.SITE).as_posix() for p in console_site.site_files()}
    assert {"index.html", "js/app.js"} <= files
    assert "config.json" not in files  # made per stack, never committed


STACK_TEMPLATE = {
    "Parameters": {"Distribution": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        "ConsoleBucketName": {"Value": "console"},
        "ConsoleDistributionId": {"Value": {"Ref": "Distribution"}},
        "ConsoleClientId": {"Value": "client-9"},
        "ConsoleUrl": {"Value": "https://d111111abcdef8.cloudfront.net"},
    },
}


def test_console_deploy_publishes_from_the_stack_outputs_and_invalidates_the_distribution(
    s3: Any, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_site, "SITE", site)
    monkeypatch.setattr(console_site.publish, "__defaults__", (site,))
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "test",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "s3",
                        "DomainName": "console.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]["Id"]
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="pf",
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": "Distribution", "ParameterValue": distribution}],
    )
    url = deploy_to_stack("pf", boto3.Session(region_name=REGION))
    assert url == "https://d111111abcdef8.cloudfront.net"
    config = json.loads(s3.get_object(Bucket="console", Key="config.json")["Body"].read())
    assert config["userPoolClientId"] == "client-9" and config["cognitoEndpoint"].startswith(
        "https://cognito-idp."
    )
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert invalidations["Quantity"] == 1


def test_console_deploy_names_the_missing_outputs_of_a_stack_without_the_console(s3: Any) -> None:
    template = {**STACK_TEMPLATE, "Outputs": {"ConsoleUrl": {"Value": "x"}}, "Parameters": {}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="old", TemplateBody=json.dumps(template)
    )
    with pytest.raises(SystemExit, match="ConsoleBucketName, ConsoleDistributionId, ConsoleClientId"):
        deploy_to_stack("old", boto3.Session(region_name=REGION))
