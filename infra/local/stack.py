"""EmbeddedAws: the whole of template.yaml running in this process, with no AWS account and no Docker.

    with EmbeddedAws() as aws:
        boto3.client("dynamodb").put_item(TableName=os.environ["TABLE_NAME"], ...)  # reaches moto
        httpx.post(f"{aws.api_url}/scans", headers={"x-api-key": aws.api_key}, json=...)
        aws.drain()

moto serves every AWS API on 127.0.0.1; the functions' code runs in-process, called by the Step Functions
interpreter (lambda_dispatch), the SQS pollers, the scheduler and the local API server.

EmbeddedAws(moto_process=True) runs moto's server in a process of its own (infra/local/moto_process.py),
so that moto and the handlers each have a GIL, i.e. a core, of their own; its Step Functions interpreter
posts each Lambda Invoke back to this process, where the handlers still run. In-process (the default),
tests and the cost meter (infra/local/cost.py) can reach moto's backends and WSGI application directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import string
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
from moto.server import ThreadedMotoServer

from infra import console_site
from infra.local import duplicate_starts, runtime
from infra.local.api_gateway import ApiGateway, Caller
from infra.local.cloudfront import LocalCloudFront
from infra.local.deploy import DEFAULT_TEMPLATE, Deployment, deploy
from infra.local.lambda_dispatch import LambdaDispatch, serve_invokes
from infra.local.scheduler import Scheduler
from infra.local.sqs_poller import SqsPollers
from infra.local.template import Template

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}


class _Environ:
    """os.environ changes that can be undone exactly (a key that was absent is removed again)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, key: str, value: str | None) -> None:
        self._saved.setdefault(key, os.environ.get(key))
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class ConsoleOperator:
    user_name: str
    password: str


def _password() -> str:
    """Meets any Cognito password policy: 24 characters with upper, lower, digit and symbol."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20)) + "Aa1!"


class EmbeddedAws:
    def __init__(
        self,
        template: str | Path | Template = DEFAULT_TEMPLATE,
        *,
        parameter_overrides: Mapping[str, Any] | None = None,
        region: str = "us-east-1",
        stack_name: str = "parcelflow",
        run_schedules: bool = False,
        failure_visibility_timeout: int | None = None,
        poll_wait_seconds: int = 1,
        aws_port: int = 0,
        duplicate_deliveries: bool = False,
        moto_process: bool = False,
    ) -> None:
        """run_schedules: fire Schedule/ScheduleV2 events on their timers (off by default: the demo and
        tests call fire_schedule()). failure_visibility_timeout: seconds before a message whose handling
        failed is received again; None keeps the queue's VisibilityTimeout, as on AWS. aws_port: where moto
        listens (0: a port the OS chooses; `make up` asks for a fixed one). duplicate_deliveries: every
        StartExecution and every SQS batch delivered twice (infra/local/duplicate_starts, the pollers), for
        the chaos run; off by default. moto_process: moto's server in a process of its own (see above);
        moto's backends are then out of this process's reach (no duplicate_deliveries, no cost meter)."""
        if moto_process and duplicate_deliveries:
            raise ValueError("duplicate_deliveries hooks moto in this process: it needs moto_process=False")
        # A Template object: a variant of the template tests build in memory (its paths stay the file's).
        self.template = template if isinstance(template, Template) else Path(template)
        self.parameter_overrides = dict(parameter_overrides or {})
        self.region = region
        self.stack_name = stack_name
        self.run_schedules = run_schedules
        self.failure_visibility_timeout = failure_visibility_timeout
        self.poll_wait_seconds = poll_wait_seconds
        self.aws_port = aws_port
        self.duplicate_deliveries = duplicate_deliveries
        self.moto_process = moto_process
        self._moto: subprocess.Popen[str] | None = None  # moto's process, when it has one
        # Looks like a real API key (40 alphanumerics), different for every stack.
        self.api_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
        self.endpoint_url = ""
        self.deployment: Deployment | None = None
        self._environ = _Environ()
        self._dispatch = LambdaDispatch()
        self._pollers: SqsPollers | None = None
        self._scheduler: Scheduler | None = None
        self._api: ApiGateway | None = None
        self._cloudfront: dict[str, LocalCloudFront] = {}
        # The IAM identities whose SigV4 signatures the local API Gateway accepts, by access key id: the
        # stack's own credentials, and the operators add_operator() made.
        self._callers: dict[str, Caller] = {}
        self._undo = contextlib.ExitStack()

    # -- what a test or the demo reads -------------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, Any]:
        """The template's Outputs, resolved (ScanApiUrl is the AWS form: use api_url locally)."""
        return self._deployed.outputs

    @property
    def physical_ids(self) -> dict[str, str]:
        """Logical id -> what Ref returns (table and bucket names, queue URLs, state machine ARNs)."""
        return self._deployed.physical_ids

    @property
    def api_urls(self) -> dict[str, str]:
        """Api logical id -> local base URL including the stage, e.g. http://127.0.0.1:43123/v1."""
        if self._api is None:
            return {}
        return {logical_id: self._api.url(logical_id) for logical_id in self._deployed.apis}

    @property
    def api_url(self) -> str:
        """The base URL of the template's only Api (of ScanApi, the scanners', when it has several)."""
        urls = self.api_urls
        if len(urls) == 1:
            (url,) = urls.values()
            return url
        return urls["ScanApi"]

    @property
    def operator_api_url(self) -> str:
        """The operator API's base URL: sign requests with SigV4 for `execute-api` (the stack's
        AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an operator's from add_operator())."""
        return self.api_urls["OperatorApi"]

    @property
    def console_url(self) -> str:
        """The web console, as its CloudFront distribution serves it (the template's only distribution)."""
        (distribution,) = self._cloudfront.values()
        return distribution.url

    def add_console_operator(self, user_name: str, password: str | None = None) -> ConsoleOperator:
        """A person who signs in to the web console: a user of the template's user pool, created by an
        administrator (the pool takes no sign-ups) with a permanent password; returns (name, password)."""
        password = password or _password()
        cognito = self.client("cognito-idp")
        pool_id = self.outputs["OperatorUserPoolId"]
        cognito.admin_create_user(UserPoolId=pool_id, Username=user_name, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=user_name, Password=password, Permanent=True
        )
        return ConsoleOperator(user_name, password)

    def add_operator(self, user_name: str) -> Credentials:
        """An IAM user with an access key, created in the embedded AWS; the local API Gateway accepts its
        signature and hands the Lambda its ARN, so its actions are audited as `operator:<user_name>`."""
        iam = self.client("iam")
        iam.create_user(UserName=user_name)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        self._register_caller(credentials)
        return credentials

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(service, region_name=self.region)  # type: ignore[call-overload]

    def fire_schedule(self, function_logical_id: str, event_name: str | None = None) -> Any:
        """Run a function's schedule now; returns the handler's result (its exception propagates)."""
        assert self._scheduler is not None, "the stack is not running"
        return self._scheduler.fire(function_logical_id, event_name)

    @property
    def duplicates_delivered(self) -> int:
        """SQS messages handed to their function a second time so far (duplicate_deliveries)."""
        return sum(p.duplicates_delivered for p in self._pollers.pollers) if self._pollers else 0

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every queue with a consumer is empty and no batch is being handled."""
        assert self._pollers is not None, "the stack is not running"
        self._pollers.drain(timeout)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        # Every step registers its undo on an ExitStack: stop() undoes them in reverse order, and keeps going
        # (re-raising at the end) if one of them fails, so nothing is left half-running.
        self._undo = contextlib.ExitStack()
        try:
            self._dispatch.install()  # first: it refuses a second stack before any shared state is touched
            self._undo.callback(self._dispatch.uninstall)
            self._undo.callback(runtime.unload_handlers)
            self._undo.callback(self._environ.restore)
            if self.duplicate_deliveries:
                duplicate_starts.install()
                self._undo.callback(duplicate_starts.uninstall)
            self._start_moto()
            self._post("/moto-api/config", MOTO_CONFIG)
            self._deploy()
            self._undo.callback(self._stop_triggers)
            self._start_triggers()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every thread and server, forget all AWS state, restore os.environ and moto."""
        try:
            self._undo.close()
        finally:
            self.deployment = None
            boto3.DEFAULT_SESSION = None  # it may hold clients configured for the stopped endpoint

    def reset(self) -> None:
        """Empty every table, bucket and queue: all state is dropped and the template deployed again under
        the same names, so the environment, the API URL and the key stay valid."""
        suffix = self._deployed.name_suffix
        self._stop_triggers()
        self._post("/moto-api/reset", {})
        self._post("/moto-api/config", MOTO_CONFIG)
        self._deploy(name_suffix=suffix)
        self._start_triggers()

    # -- internals -----------------------------------------------------------------------------------------

    @property
    def _deployed(self) -> Deployment:
        assert self.deployment is not None, "the stack is not running"
        return self.deployment

    def _start_moto(self) -> None:
        # moto logs every request through werkzeug's logger at INFO: keep the test and demo output readable.
        werkzeug = logging.getLogger("werkzeug")
        self._undo.callback(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.WARNING)
        if self.moto_process:
            port = self._start_moto_process()
        else:
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
            moto.start()
            self._undo.callback(moto.stop)
            port = moto.get_host_and_port()[1]
        self.endpoint_url = f"http://127.0.0.1:{port}"
        # Backends are process-global even in server mode: clear them for the next stack or mock_aws().
        self._undo.callback(self._post, "/moto-api/reset", {})
        # Every boto3 client of the process - the handlers' plain boto3.client(...) included - goes to moto.
        for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_") or k == "AWS_PROFILE"]:
            self._environ.set(key, None)
        for key, value in {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
            "AWS_SESSION_TOKEN": None,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "MOTO_PORT": str(port),  # moto's Step Functions interpreter calls Lambda on localhost:$MOTO_PORT
        }.items():
            self._environ.set(key, value)
        # An HTTP proxy of the developer's environment must not see the local endpoints.
        for key in ("NO_PROXY", "no_proxy"):
            value = ",".join(filter(None, [os.environ.get(key), "127.0.0.1", "localhost"]))
            self._environ.set(key, value)
        boto3.DEFAULT_SESSION = None  # a default session made earlier may hold other credentials

    def _start_moto_process(self) -> int:
        invokes = serve_invokes(self._dispatch)
        self._undo.callback(invokes.server_close)
        self._undo.callback(invokes.shutdown)
        host, invokes_port = invokes.server_address[:2]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no outside input
            [
                sys.executable,
                "-m",
                "infra.local.moto_process",
                "--invokes",
                f"http://{host!s}:{invokes_port}",
                "--port",
                str(self.aws_port),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
            },
        )
        self._moto = process
        self._undo.callback(self._stop_moto_process, process)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"moto's process did not start (exit code {process.poll()})")
        return int(line)

    @staticmethod
    def _stop_moto_process(process: subprocess.Popen[str]) -> None:
        assert process.stdin is not None
        process.stdin.close()  # moto's process exits when its stdin closes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _deploy(self, name_suffix: str | None = None) -> None:
        self.deployment = deploy(
            self.template,
            session=boto3.session.Session(region_name=self.region),
            parameter_overrides=self.parameter_overrides,
            stack_name=self.stack_name,
            name_suffix=name_suffix,
        )
        for key, value in self.deployment.environment().items():
            self._environ.set(key, value)
        self._dispatch.register(self.deployment.functions.values())
        self._publish_console()

    def _publish_console(self) -> None:
        """The console's files into its bucket, as `make console-deploy` does after `sam deploy`."""
        outputs = self._deployed.outputs
        if "ConsoleBucketName" not in outputs:
            return
        config = console_site.ConsoleConfig(self.region, outputs["ConsoleClientId"], self.endpoint_url + "/")
        console_site.publish(self.client("s3"), outputs["ConsoleBucketName"], config)

    def _register_caller(self, credentials: Credentials) -> None:
        """Who these credentials are, as STS says (moto knows the IAM users it created)."""
        sts = boto3.session.Session(
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            region_name=self.region,
        ).client("sts")
        identity = sts.get_caller_identity()
        self._callers[credentials.access_key] = Caller(
            access_key=credentials.access_key,
            secret_key=credentials.secret_key,
            user_arn=identity["Arn"],
            caller=identity["UserId"],
            account_id=identity["Account"],
        )

    def _start_triggers(self) -> None:
        deployment = self._deployed
        functions = list(deployment.functions.values())
        if self._api is None and deployment.apis:  # kept across reset(): same routes, same URL
            self._callers.clear()
            self._register_caller(
                Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
            )
            self._api = ApiGateway(
                functions,
                deployment.apis,
                api_key=self.api_key,
                account_id=deployment.account_id,
                region=self.region,
                callers=self._callers.get,
            )
            self._api.start()
            self._undo.callback(self._stop_api)
        if not self._cloudfront and deployment.distributions:  # kept across reset(), as the API is
            for logical_id, distribution in deployment.distributions.items():
                server = LocalCloudFront(distribution, deployment.apis, self._api, self.region)
                server.start()
                self._cloudfront[logical_id] = server
            self._undo.callback(self._stop_cloudfront)
        self._pollers = SqsPollers(
            functions,
            region=self.region,
            wait_seconds=self.poll_wait_seconds,
            failure_visibility_timeout=self.failure_visibility_timeout,
            duplicate_deliveries=self.duplicate_deliveries,
        )
        self._pollers.start()
        self._scheduler = Scheduler(functions, region=self.region, account_id=deployment.account_id)
        if self.run_schedules:
            self._scheduler.start()

    def _stop_triggers(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._pollers is not None:
            self._pollers.stop()
            self._pollers = None

    def _stop_cloudfront(self) -> None:
        for server in self._cloudfront.values():
            server.stop()
        self._cloudfront.clear()

    def _stop_api(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None

    def _post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path, data=json.dumps(body).encode(), method="POST"
        )
        with _NO_PROXY_OPENER.open(request, timeout=30) as response:
            response.read()
