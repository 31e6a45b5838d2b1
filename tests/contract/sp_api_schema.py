"""Validators built from Amazon's official API models (Swagger 2.0, Apache-2.0; see sp_api_models/NOTICE)."""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

MODELS = Path(__file__).parent / "sp_api_models"
ORDERS_2026 = "orders_2026-01-01.json"
ORDERS_V0 = "ordersV0.json"


@cache
def load_model(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MODELS / name).read_text(encoding="utf-8"))
    return loaded


def _closed(schema: Any) -> Any:
    """Every object schema that lists its properties refuses others: a misspelt field fails too."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def model_validator(model: str, definition: str, *, closed: bool = True) -> Draft4Validator:
    """Validates against `#/definitions/<definition>` of a Swagger 2.0 model; $refs resolve in that file."""
    contents = load_model(model)
    contents = _closed(copy.deepcopy(contents)) if closed else contents
    uri = f"urn:sp-api-model:{model}"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(contents, default_specification=DRAFT4)
    )
    return Draft4Validator(
        {"$ref": f"{uri}#/definitions/{definition}"},
        registry=registry,
        format_checker=Draft4Validator.FORMAT_CHECKER,
    )
