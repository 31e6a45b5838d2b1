"""CloudFront, locally: a template's distribution served on a loopback port from its resolved config.

Each request takes the first ordered cache behaviour whose PathPattern matches (else the default one),
and goes to that behaviour's origin: a bucket of the template (read with the stack's credentials, as
the origin access control lets CloudFront read it; a key that is not there is S3's 403, since the OAC
grants no ListBucket) or an API of the template (handed to the local API Gateway as that API, the
viewer's headers but Host passed on, as the AllViewerExceptHostHeader policy does). What the local
server does not do: caching (every request reaches its origin), TLS, compression, geo restrictions.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.local.api_gateway import ApiGateway
from infra.local.deploy import LocalApi, LocalDistribution

logger = logging.getLogger(__name__)

# The managed SecurityHeadersPolicy (67f7725c-6f97-4210-82d7-5512b31e9d03), header for header.
SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"
_SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-XSS-Protection": "1; mode=block",
}
_DEFAULT_METHODS = ("GET", "HEAD")
_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)


class LocalCloudFront:
    def __init__(
        self,
        distribution: LocalDistribution,
        apis: dict[str, LocalApi],
        gateway: ApiGateway | None,
        region: str,
    ) -> None:
        self.distribution = distribution
        self.config = distribution.config
        self.region = region
        self.gateway = gateway
        self._apis_by_id = {api.rest_api_id: api.logical_id for api in apis.values()}
        self._origins = {origin["Id"]: origin for origin in self.config.get("Origins", [])}
        self._s3 = boto3.session.Session().client("s3", region_name=region)  # type: ignore[call-overload]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-cloudfront")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def behaviour(self, path: str) -> dict[str, Any]:
        for candidate in self.config.get("CacheBehaviors", []):
            # CloudFront's patterns: * any characters (/ included), ? exactly one; case-sensitive.
            if fnmatch.fnmatchcase(path, candidate["PathPattern"]) or fnmatch.fnmatchcase(
                path.lstrip("/"), candidate["PathPattern"].lstrip("/")
            ):
                return dict(candidate)
        return dict(self.config["DefaultCacheBehavior"])

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        path = target.partition("?")[0]
        behaviour = self.behaviour(path)
        if method not in behaviour.get("AllowedMethods", _DEFAULT_METHODS):
            status, out, payload = (
                403,
                {"Content-Type": "text/html"},
                b"<h1>403 ERROR</h1>Method not allowed.",
            )
        else:
            origin = self._origins[behaviour["TargetOriginId"]]
            domain = str(origin["DomainName"])
            if ".s3." in domain or domain.endswith(".s3.amazonaws.com"):
                status, out, payload = self._from_bucket(domain.split(".s3.", 1)[0], origin, path, headers)
            elif ".execute-api." in domain:
                status, out, payload = self._from_api(
                    domain.split(".", 1)[0], origin, method, target, headers, body, source_ip
                )
            else:
                status, out, payload = (
                    502,
                    {"Content-Type": "text/html"},
                    b"<h1>502 ERROR</h1>Unknown origin.",
                )
        if behaviour.get("ResponseHeadersPolicyId") == SECURITY_HEADERS_POLICY:
            for name, value in _SECURITY_HEADERS.items():
                if not any(k.lower() == name.lower() for k in out):
                    out[name] = value
        out.setdefault("Via", f"1.1 {self.distribution.domain_name} (CloudFront)")
        out.setdefault("X-Cache", "Miss from cloudfront")
        return status, out, payload

    def _from_bucket(
        self, bucket: str, origin: dict[str, Any], path: str, headers: list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        if path == "/" and self.config.get("DefaultRootObject"):
            path = "/" + str(self.config["DefaultRootObject"])
        key = (str(origin.get("OriginPath") or "").strip("/") + path).lstrip("/")
        if not key:
            return 403, {"Content-Type": "application/xml"}, _ACCESS_DENIED
        try:
            found = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "AccessDenied"):
                return 403, {"Content-Type": "application/xml"}, _ACCESS_DENIED
            raise
        out = {
            "Content-Type": found.get("ContentType") or "binary/octet-stream",
            "ETag": found["ETag"],
            "Last-Modified": formatdate(found["LastModified"].timestamp(), usegmt=True),
        }
        if found.get("CacheControl"):
            out["Cache-Control"] = found["CacheControl"]
        payload = found["Body"].read()
        if_none_match = next((v for k, v in headers if k.lower() == "if-none-match"), None)
        if if_none_match is not None and found["ETag"] in [t.strip() for t in if_none_match.split(",")]:
            return 304, {k: v for k, v in out.items() if k != "Content-Type"}, b""
        return 200, out, payload

    def _from_api(
        self,
        rest_api_id: str,
        origin: dict[str, Any],
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> tuple[int, dict[str, str], bytes]:
        api = self._apis_by_id.get(rest_api_id)
        if api is None or self.gateway is None:
            return (
                502,
                {"Content-Type": "text/html"},
                b"<h1>502 ERROR</h1>The origin API is not in the stack.",
            )
        prefix = "/" + str(origin.get("OriginPath") or "").strip("/") if origin.get("OriginPath") else ""
        forwarded = [(k, v) for k, v in headers if k.lower() != "host"]
        return self.gateway.handle(method, prefix + target, forwarded, body, source_ip, api)


def _make_handler(cloudfront: LocalCloudFront) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive thread outlives stop()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, headers, payload = cloudfront.handle(
                    self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                )
            except Exception:
                logger.exception("the local CloudFront failed on %s %s", self.command, self.path)
                status, headers, payload = 502, {"Content-Type": "text/html"}, b"<h1>502 ERROR</h1>"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s - %s", self.address_string(), format % args)

    return Handler
