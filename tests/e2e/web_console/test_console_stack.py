"""The web console's stack, without a browser: what the local CloudFront serves (the site from its private
bucket, config.json, security headers, revalidation by ETag, no listing), and what the Cognito-authorised
API refuses (no token, a forged one; a pool token on the IAM-authorised operator API)."""

from __future__ import annotations

import httpx
import pytest

from infra.local import scenario

pytestmark = pytest.mark.e2e


def test_the_distribution_serves_the_site_and_its_config_with_security_headers(world: scenario.World) -> None:
    url = world.stack.console_url
    index = httpx.get(url + "/", trust_env=False)
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["cache-control"] == "no-cache"
    again = httpx.get(url + "/", headers={"If-None-Match": index.headers["etag"]}, trust_env=False)
    assert again.status_code == 304
    app = httpx.get(url + "/js/app.js", trust_env=False)
    assert app.status_code == 200 and app.headers["content-type"].startswith("text/javascript")
    config = httpx.get(url + "/config.json", trust_env=False).json()
    assert config["userPoolClientId"] == world.stack.outputs["ConsoleClientId"]
    assert config["apiBase"] == "/v1"
    assert httpx.get(url + "/no-such-file.js", trust_env=False).status_code == 403  # S3 via OAC: no list


def test_the_console_api_refuses_a_call_without_a_token_of_the_pool(world: scenario.World) -> None:
    url = world.stack.console_url
    assert httpx.get(url + "/v1/tabs", trust_env=False).status_code == 401
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"
    assert httpx.get(url + "/v1/tabs", headers={"Authorization": forged}, trust_env=False).status_code == 401
    # The IAM-authorised operator API is another API: a Cognito token is no signature there.
    assert httpx.get(world.stack.operator_api_url + "/tabs", trust_env=False).status_code == 403
