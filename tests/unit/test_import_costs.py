"""What a Lambda function loads when it starts: only what it uses (issue 12, cold starts).

Each check imports in a fresh interpreter, as a cold Lambda does, with shared/ on sys.path as the layer
puts it, and looks at sys.modules. Behaviour, not timing (infra/local/coldstart.py measures the time): these
fail when someone brings back an eager import of a heavy module where it is not needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))

PRINTING = ("reportlab", "pypdf", "uharfbuzz", "bidi", "pypdfium2", "PIL")
MARKETPLACES = "parcelflow.adapters.marketplaces."
CARRIERS = "parcelflow.adapters.carriers"
PRINTERS = {"render_label", "operator_api"}  # the functions that make labels, slips and pick lists
PARAMETERS = "aws_lambda_powertools.utilities.parameters"  # for the secrets, read with an integration
# Read by the functions that review orders, pair SKUs, import products or print batches, not by the table
REST_OF_DOMAIN = (
    "parcelflow.domain.review_rules",
    "parcelflow.domain.pairing",
    "parcelflow.domain.catalogue",
    "parcelflow.domain.printing",
    "parcelflow.domain.channels",
)


def _environment() -> dict[str, str]:
    """No AWS region, credentials or settings: an import that built a client or read a setting fails."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    return {k: v for k, v in os.environ.items() if k in keep}


@cache
def _loaded(code: str, function: str | None = None) -> frozenset[str]:
    path = [str(ROOT / "functions" / function)] if function else []
    script = (
        "import json, sys\n"
        f"sys.path[:0] = {[*path, str(ROOT / 'shared')]!r}\n"
        f"{code}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return frozenset(json.loads(done.stdout.splitlines()[-1]))


def _handler_modules(function: str) -> frozenset[str]:
    return _loaded("import app", function)


def _under(modules: frozenset[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_deps_imports_no_adapter_until_a_factory_is_called() -> None:
    modules = _loaded("import parcelflow.deps")
    adapters = {m for m in modules if m.startswith("parcelflow.adapters.")}
    assert adapters <= {"parcelflow.adapters.aws"}  # secrets (Powertools' parameters) with an integration
    assert _under(modules, "httpx", "parcelflow.ports", "parcelflow.services", PARAMETERS) == []


def test_the_registry_loads_an_adapter_only_when_its_store_or_channel_is_met() -> None:
    modules = _loaded("import parcelflow.adapters.registry")
    assert _under(modules, CARRIERS, MARKETPLACES.rstrip("."), "httpx") == []


def test_the_table_factory_loads_the_table_adapter_and_no_integration() -> None:
    modules = _loaded(
        "import os\n"
        "os.environ.update(AWS_DEFAULT_REGION='eu-west-1', TABLE_NAME='t', LABEL_BUCKET='b',"
        " IDEMPOTENCY_TABLE='i')\n"
        "from parcelflow import deps\n"
        "deps.orders()"
    )
    assert "parcelflow.adapters.dynamodb" in modules
    assert _under(modules, CARRIERS, MARKETPLACES.rstrip("."), "httpx", *PRINTING) == []
    assert _under(modules, *REST_OF_DOMAIN, PARAMETERS, "yaml") == []


def test_the_ports_load_no_domain_module_beyond_its_errors() -> None:
    modules = _loaded("import parcelflow.ports")
    assert _under(modules, "parcelflow.domain") == ["parcelflow.domain", "parcelflow.domain.errors"]


def test_the_operator_api_loads_no_renderer_nor_yaml_until_it_prints_or_reads_a_yaml_file() -> None:
    # Listing orders, stock and batches is most of its requests; a label or a channel file is rarer.
    modules = _handler_modules("operator_api")
    assert _under(modules, *PRINTING, "parcelflow.domain.label", "yaml", "httpx", PARAMETERS) == []


# The handler imported, then the order book built, as on the first invocation.
_BUILDS_THE_TABLE = (
    "import os\n"
    "os.environ.update(AWS_DEFAULT_REGION='eu-west-1', TABLE_NAME='t', LABEL_BUCKET='b',"
    " IDEMPOTENCY_TABLE='i')\n"
    "import app\n"
    "from parcelflow import deps\n"
    "deps.orders()"
)


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - {"operator_api", "review_order"}))
def test_only_the_review_and_the_operator_api_load_rules_pairings_and_channel_files(function: str) -> None:
    modules = _loaded(
        _BUILDS_THE_TABLE,
        function,
    )
    assert _under(modules, *REST_OF_DOMAIN, PARAMETERS, "yaml") == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_handler_imports_without_settings_region_or_client(function: str) -> None:
    modules = _handler_modules(function)  # no AWS_DEFAULT_REGION: building a client would have failed
    assert "app" in modules
    assert "parcelflow.adapters.dynamodb" not in modules  # the table adapter comes with deps.orders()
    assert _under(modules, "moto", "pytest", "httpx") == []  # dev-only; httpx comes with an integration


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - PRINTERS))
def test_only_the_functions_that_print_load_the_renderers(function: str) -> None:
    modules = _handler_modules(function)
    assert _under(modules, *PRINTING, "parcelflow.domain.label", "parcelflow.domain.pick_list") == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_an_integration_before_its_store_or_channel_is_met(function: str) -> None:
    modules = _handler_modules(function)
    assert _under(modules, CARRIERS, MARKETPLACES.rstrip("."), "parcelflow.adapters.registry") == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_the_powertools_parser(function: str) -> None:
    # Its import costs more than the pydantic validation the handlers use it for (Model.model_validate).
    assert _under(_handler_modules(function), "aws_lambda_powertools.utilities.parser") == []


def test_sync_orders_loads_no_carrier_nor_printing() -> None:
    modules = _handler_modules("sync_orders")
    assert _under(modules, CARRIERS, "reportlab", "pypdf", "uharfbuzz") == []


def test_scan_api_loads_no_marketplace_nor_http_client() -> None:
    modules = _handler_modules("scan_api")
    assert _under(modules, MARKETPLACES.rstrip("."), CARRIERS, "httpx", "parcelflow.services.sync") == []


def test_request_waybill_loads_no_marketplace() -> None:
    assert _under(_handler_modules("request_waybill"), MARKETPLACES.rstrip(".")) == []


BATCH = ("aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.data_classes", "asyncio")
RESOLVER = "aws_lambda_powertools.event_handler"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_powertools_batch_utility_nor_its_event_classes(function: str) -> None:
    # The SQS consumers answer partial batches with parcelflow.sqs_batch: Powertools' batch utility loads
    # every event data class it knows and asyncio (decision 65). Only the operator API's resolver loads
    # the data classes.
    modules = _handler_modules(function)
    if function == "operator_api":
        assert _under(modules, "aws_lambda_powertools.utilities.batch") == []
    else:
        assert _under(modules, *BATCH) == []


def test_the_scan_api_answers_without_powertools_resolver_and_builds_no_documentation_model() -> None:
    modules = _loaded(
        "import app\n"
        "from parcelflow import scan_models as m\n"
        "built = [c.__name__ for c in (m.ScanUnknownCode, m.ScanRefusal, m.ScanRefusalDetail)"
        " if c.__pydantic_complete__]\n"
        "assert not built, built",
        "scan_api",
    )
    assert _under(modules, RESOLVER) == []


def test_the_settings_are_read_without_pydantic() -> None:
    modules = _loaded(
        "import os\n"
        "os.environ.update(TABLE_NAME='t', LABEL_BUCKET='b', IDEMPOTENCY_TABLE='i')\n"
        "from parcelflow.config import get_settings\n"
        "get_settings()"
    )
    assert _under(modules, "pydantic", "pydantic_core") == []


def test_the_ports_value_classes_are_records_not_generated_dataclasses() -> None:
    # dataclasses compiles six methods per class at import; every function loads the ports.
    import dataclasses

    from parcelflow import ports

    values = [ports.WaybillClaim, ports.OrderView, ports.OrderFilter, ports.OrdersPage, ports.Waybill]
    assert [c.__name__ for c in values if dataclasses.is_dataclass(c)] == []


@pytest.mark.parametrize(
    "function", sorted(set(FUNCTIONS) - {"sync_orders", "schedule_syncs", "confirm_shipment", "operator_api"})
)
def test_only_the_sync_the_confirmations_and_the_operator_api_build_the_platform_models(
    function: str,
) -> None:
    modules = _loaded(
        _BUILDS_THE_TABLE,
        function,
    )
    assert "parcelflow.domain.models" in modules
    assert _under(modules, "parcelflow.domain.platform") == []


def test_the_platform_models_are_still_importable_from_the_models_module() -> None:
    from parcelflow.domain import models, platform

    assert models.PlatformOrder is platform.PlatformOrder
    assert models.StoreHealth is platform.StoreHealth
    with pytest.raises(AttributeError):
        _ = models.NoSuchModel  # type: ignore[attr-defined]
