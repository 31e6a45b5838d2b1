"""The web console's files into its bucket, with the config.json that tells the page where it runs.

`sam deploy` creates the bucket, the distribution, the user pool and its client (template.yaml) but does
not copy files into a bucket: `make console-deploy STACK=<name>` does, after it, from the stack's outputs,
and invalidates the distribution's cache. The local stack publishes the same way into its own bucket
(infra/local/stack.py), and infra/local/cloudfront.py serves it from there, as CloudFront would.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

SITE = Path(__file__).resolve().parents[1] / "console" / "web"

# No file name carries a hash of its content, so nothing may be kept without asking again: the browser
# revalidates every file by its ETag (a 304 costs a request, never a stale page after a deploy).
CACHE_CONTROL = "no-cache"
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class ConsoleConfig:
    region: str
    user_pool_client_id: str
    cognito_endpoint: str  # where the page signs in: Cognito's own endpoint (CORS is allowed there)
    api_base: str = "/v1"  # the operator API, on the page's own origin (CloudFront's /v1/* behaviour)

    def document(self) -> dict[str, str]:
        return {
            "region": self.region,
            "userPoolClientId": self.user_pool_client_id,
            "cognitoEndpoint": self.cognito_endpoint,
            "apiBase": self.api_base,
        }


def content_type(path: Path) -> str:
    guessed = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return (
        f"{guessed}; charset=utf-8"
        if guessed.startswith("text/") or guessed == "application/json"
        else guessed
    )


def site_files(site: Path = SITE) -> list[Path]:
    files = sorted(p for p in site.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not any(p.relative_to(site).as_posix() == "index.html" for p in files):
        raise FileNotFoundError(f"{site}: no index.html, nothing to publish")
    return files


def publish(s3: Any, bucket: str, config: ConsoleConfig, site: Path = SITE) -> list[str]:
    """Every file of the site, then config.json; returns the keys written. Files the site no longer has
    are deleted after, so a page never refers to a module that is gone while the new one is uploading."""
    written: list[str] = []
    for path in site_files(site):
        key = path.relative_to(site).as_posix()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type(path),
            CacheControl=CACHE_CONTROL,
        )
        written.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config.document(), indent=2).encode(),
        ContentType="application/json; charset=utf-8",
        CacheControl=CACHE_CONTROL,
    )
    written.append("config.json")
    stale = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in written
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start : start + 1000]]}
        )
    return written


def deploy_to_stack(stack: str, session: boto3.Session | None = None) -> str:
    """Publish into a deployed stack's bucket and invalidate its distribution; returns the console's URL."""
    session = session or boto3.Session()
    region = session.region_name
    if not region:
        raise SystemExit("console-deploy: no AWS region configured (set AWS_REGION or a profile's region)")
    stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [
        k
        for k in ("ConsoleBucketName", "ConsoleDistributionId", "ConsoleClientId", "ConsoleUrl")
        if k not in outputs
    ]
    if missing:
        raise SystemExit(
            f"console-deploy: stack {stack} has no output {', '.join(missing)}: deploy template.yaml first"
        )
    config = ConsoleConfig(region, outputs["ConsoleClientId"], f"https://cognito-idp.{region}.amazonaws.com/")
    publish(session.client("s3"), outputs["ConsoleBucketName"], config)
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["ConsoleDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"console-{time.time_ns()}",
        },
    )
    return outputs["ConsoleUrl"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make console-deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the CloudFormation stack `sam deploy` made")
    args = parser.parse_args(argv)
    print(f"console: {deploy_to_stack(args.stack)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
