"""Two costs of moto 5.2.5's server that grow with every request, taken out (installed by lambda_dispatch).

Measured on a 30-order local run (py-spy, samples holding the GIL), before:

- DynamoDB responses: moto builds a `ResponseSerializer` for every response and walks the operation's
  output shape member by member (an attribute picker per value, aliases tried per key) to write a dict that
  is already in DynamoDB's wire form (`DynamoResult` converts moto's items to AttributeValue dicts before
  the serializer sees them). Half of the server's CPU went there. For the item operations the flow uses, the
  body is that dict as JSON: `json.dumps` writes the same document (tests/integration/test_moto_speed.py
  compares the two bodies operation by operation). Errors, and every other operation, keep moto's path.
- Step Functions' Lambda tasks: moto's interpreter builds a new boto3 client (loading the Lambda service
  model from disk) for every Task state it runs. The client is the same every time for a region: it is
  built once per region and reused (botocore clients are thread-safe).

- Queries: moto's `Table.query` reads `all_items()`, which lists and sorts every item of the table, then
  keeps those of the partition asked for. On the base table the partition is one dict look-up in moto's own
  storage: the query is given that partition's items (in moto's order) instead, so that it costs what the
  partition holds, not what the table holds. An index query still looks at every item (moto keeps no index),
  but no longer sorts them all first: moto sorts what matched by the index's keys afterwards anyway.

- Step Functions' definitions: moto's interpreter parses the state machine's ASL (an ANTLR grammar, then a
  tree of evaluation components) again for every execution: a tenth of moto's CPU in the pipeline. The
  components keep no state of their own while they run (a Map's parallel iterations share them already:
  what an evaluation needs is kept in its Environment, under each component's heap key), so one parse per
  definition text serves every execution; the heap keys, made lazily, are made once up front so that two
  first executions cannot each make one.

- Update expressions: moto parses an UpdateItem's expression twice (the handler checks the placeholders,
  the backend applies it), a transaction's Update entries twice as well. The tree is only read (the
  validator works on a deep copy of it, and so does everything after it), so one parse per expression text
  serves every request; a bad expression still raises each time (nothing is kept).

Nothing here changes what a request does or answers; `uninstall()` puts moto's code back.
"""

from __future__ import annotations

import inspect
import json
import threading
from functools import cache
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

# The item operations: their output shapes hold no timestamps, blobs or renamed members, only
# AttributeValue maps, counts and ConsumedCapacity, which JSON writes as the serializer does.
FAST_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_CONTENT_TYPE = "application/x-amz-json-1.0"

_original: dict[str, Any] = {}


def _has_blob(value: Any) -> bool:
    # A B/BS value is bytes to moto; the serializer base64-encodes it: leave those to moto.
    if isinstance(value, dict):
        return any(k in ("B", "BS") or _has_blob(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_blob(v) for v in value)
    return isinstance(value, bytes)


@cache
def _output_members(operation: str) -> frozenset[str]:
    shape = get_service_model("dynamodb").operation_model(operation).output_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def _serialized(handler: DynamoHandler, action_result: ActionResult) -> Any:
    result = action_result.result
    operation = handler._get_action()
    if (
        type(action_result) in (DynamoResult, ActionResult)
        and isinstance(result, dict)
        and operation in FAST_OPERATIONS
        and not _has_blob(result)
    ):
        # What the serializer keeps: the output shape's members (moto adds some the API does not have).
        members = _output_members(operation)
        body = {key: value for key, value in result.items() if key in members}
        headers = {"Content-Type": _CONTENT_TYPE}
        headers.update(handler.response_headers)
        return 200, headers, json.dumps(body)
    return _original["serialized"](handler, action_result)


def _client_per_region() -> Any:
    build = _original["boto_client_for"]
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        with lock:
            if key not in clients:
                clients[key] = build(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    return boto_client_for


_QUERY_SIGNATURE = inspect.signature(Table.query)


def _items_for(table: Table, hash_key: Any, index_name: str | None) -> list[Item]:
    if index_name is not None or hash_key is None:
        items: list[Item] = []
        for stored in table.items.values():
            items.extend(stored.values() if table.range_key_attr else [stored])  # type: ignore[attr-defined]
        return items
    stored = table.items.get(hash_key)
    if stored is None:
        return []
    if not table.range_key_attr:
        return [stored]  # type: ignore[list-item]
    return sorted(stored.values(), key=lambda item: item.range_key)  # type: ignore[attr-defined]


def _query(table: Table, *args: Any, **kwargs: Any) -> Any:
    bound = _QUERY_SIGNATURE.bind(table, *args, **kwargs).arguments
    items = _items_for(table, bound.get("hash_key"), bound.get("index_name"))
    # Callers hold lambda_dispatch's DynamoDB lock: no other request sees the table while this one runs.
    table.all_items = lambda: items  # type: ignore[method-assign]
    try:
        return _original["query"](table, *args, **kwargs)
    finally:
        del table.all_items


def _with_heap_keys(value: Any, seen: set[int]) -> None:
    """Every evaluation component reachable from `value` given its heap key now."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, EvalComponent):
        _ = value.heap_key
        children: Any = vars(value).values()
    elif isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        children = value
    else:
        return
    for child in children:
        _with_heap_keys(child, seen)


# Definitions are few (one per state machine version); a bound keeps a long `make up` session's small.
_PARSED_DEFINITIONS = 64


def _parse_once() -> Any:
    parse = _original["parse"]
    parsed: dict[str, Any] = {}
    lock = threading.Lock()

    def parse_definition(definition: str) -> Any:
        with lock:
            if definition in parsed:
                return parsed[definition]
        result = parse(definition)  # raises for a bad definition: nothing is kept
        _with_heap_keys(result[0], set())
        with lock:
            if len(parsed) >= _PARSED_DEFINITIONS:
                parsed.clear()
            return parsed.setdefault(definition, result)

    return staticmethod(parse_definition)


# The flow's update expressions are a few dozen texts; a bound keeps any other caller's store small.
_PARSED_EXPRESSIONS = 1024


def _update_expression_once() -> Any:
    make = _original["update_expression"]
    parsed: dict[str, Any] = {}
    lock = threading.Lock()

    def make_once(cls: type[UpdateExpressionParser], expression: str) -> Any:
        if cls is not UpdateExpressionParser:
            return make.__func__(cls, expression)
        with lock:
            if expression in parsed:
                return parsed[expression]
        tree = make(expression)  # raises for a bad expression: nothing is kept
        with lock:
            if len(parsed) >= _PARSED_EXPRESSIONS:
                parsed.clear()
            return parsed.setdefault(expression, tree)

    return classmethod(make_once)


def installed() -> bool:
    return bool(_original)


def install() -> None:
    """Patch moto (process-wide)."""
    if _original:
        raise RuntimeError("moto_speed is installed already")
    if "serialized" in vars(DynamoHandler):
        raise RuntimeError("moto's DynamoHandler has its own serialized(): check moto_speed against it")
    _original["serialized"] = BaseResponse.serialized
    _original["boto_client_for"] = lambda_eval_utils.boto_client_for
    _original["query"] = Table.query
    _original["parse"] = AmazonStateLanguageParser.parse
    Table.query = _query  # type: ignore[method-assign]
    AmazonStateLanguageParser.parse = _parse_once()  # type: ignore[method-assign]
    _original["update_expression"] = UpdateExpressionParser.make
    UpdateExpressionParser.make = _update_expression_once()  # type: ignore[method-assign]
    DynamoHandler.serialized = _serialized  # type: ignore[method-assign,assignment]
    lambda_eval_utils.boto_client_for = _client_per_region()


def uninstall() -> None:
    if not _original:
        return
    del DynamoHandler.serialized
    lambda_eval_utils.boto_client_for = _original["boto_client_for"]
    Table.query = _original["query"]  # type: ignore[method-assign]
    AmazonStateLanguageParser.parse = staticmethod(_original["parse"])  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(_original["update_expression"].__func__)  # type: ignore[method-assign]
    _original.clear()
