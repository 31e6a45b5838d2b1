"""moto's TransactWriteItems with the local stack's undo log (infra/local/moto_transactions.py) installed:
the same behaviour as moto's own (and AWS's) - conditions, cancellation reasons in order, ALL_OLD items,
no partial writes, indexes - at a cost that does not grow with the table, and without moto's leak."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import moto_transactions
from infra.local.deploy import Deployment

Item = dict[str, dict[str, str]]


@pytest.fixture
def aws_resource_types() -> set[str]:
    return {"AWS::DynamoDB::Table"}


@pytest.fixture
def hooked(aws: Deployment) -> Iterator[None]:
    moto_transactions.install()
    try:
        yield
    finally:
        moto_transactions.uninstall()


@pytest.fixture
def db(hooked: None) -> Any:
    return boto3.client("dynamodb")


@pytest.fixture
def table(aws: Deployment) -> str:
    return aws.physical_ids["OrdersTable"]


def _item(pk: str, sk: str = "A", status: str = "NEW", **more: str) -> Item:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, "status": {"S": status}}
    item |= {"status_key": {"S": f"ORDER#{status}"}, "status_sort": {"S": pk}}
    return item | {name: {"S": value} for name, value in more.items()}


def _key(pk: str, sk: str = "A") -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _get(db: Any, table: str, pk: str, sk: str = "A") -> Item | None:
    item: Item | None = db.get_item(TableName=table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
    return item


def _fails(table: str, pk: str = "b", *, all_old: bool = True) -> dict[str, Any]:
    """A condition check on item `pk` that fails: it holds status NEW."""
    check: dict[str, Any] = {
        "TableName": table,
        "Key": _key(pk),
        "ConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "SHIPPED"}},
    }
    if all_old:
        check["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"ConditionCheck": check}


def _cancelled(db: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with pytest.raises(ClientError) as raised:
        db.transact_write_items(TransactItems=items)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    return [dict(reason) for reason in raised.value.response["CancellationReasons"]]


def _status_index(db: Any, table: str, status: str) -> list[str]:
    answer = db.query(
        TableName=table,
        IndexName="by-status",
        KeyConditionExpression="status_key = :k",
        ExpressionAttributeValues={":k": {"S": f"ORDER#{status}"}},
    )
    return sorted(item["pk"]["S"] for item in answer["Items"])


def _buyer_index(db: Any, table: str) -> list[str]:
    answer = db.query(
        TableName=table,
        IndexName="by-buyer",
        KeyConditionExpression="buyer_key = :k",
        ExpressionAttributeValues={":k": {"S": "ja"}},
    )
    return sorted(item["pk"]["S"] for item in answer["Items"])


def _first(kind: str, table: str) -> dict[str, Any]:
    """A first entry of each kind, on item "a", that would succeed on its own."""
    guard = {
        "ConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "NEW"}},
    }
    if kind == "put":
        return {"Put": {"TableName": table, "Item": _item("a", status="PAID", extra="x"), **guard}}
    if kind == "put_new":
        return {
            "Put": {
                "TableName": table,
                "Item": _item("a2"),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    if kind == "update":
        update = "SET #s = :paid, status_key = :key, buyer_key = :b, buyer_sort = :bs REMOVE status_sort"
        values = {
            ":s": {"S": "NEW"},
            ":paid": {"S": "PAID"},
            ":key": {"S": "ORDER#PAID"},
            ":b": {"S": "ja"},
            ":bs": {"S": "jane#a"},
        }
        return {
            "Update": {
                "TableName": table,
                "Key": _key("a"),
                "UpdateExpression": update,
                **guard,
                "ExpressionAttributeValues": values,
            }
        }
    if kind == "update_new":
        return {
            "Update": {
                "TableName": table,
                "Key": _key("a2"),
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "NEW"}},
            }
        }
    if kind == "delete":
        return {"Delete": {"TableName": table, "Key": _key("a"), **guard}}
    return {"ConditionCheck": {"TableName": table, "Key": _key("a"), **guard}}


@pytest.mark.parametrize("kind", ["put", "put_new", "update", "update_new", "delete", "condition_check"])
def test_a_later_failure_leaves_the_first_item_as_it_was(db: Any, table: str, kind: str) -> None:
    db.put_item(TableName=table, Item=_item("a"))
    db.put_item(TableName=table, Item=_item("b"))

    reasons = _cancelled(db, [_first(kind, table), _fails(table)])

    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert _get(db, table, "a") == _item("a")
    assert _get(db, table, "a2") is None
    assert _get(db, table, "b") == _item("b")
    assert _status_index(db, table, "NEW") == ["a", "b"]
    assert _status_index(db, table, "PAID") == []
    assert _buyer_index(db, table) == []


@pytest.mark.parametrize("kind", ["put", "put_new", "update", "update_new", "delete", "condition_check"])
def test_the_same_entry_alone_is_written(db: Any, table: str, kind: str) -> None:
    """The counterpart of the rollback test: each first entry does succeed, indexes included."""
    db.put_item(TableName=table, Item=_item("a"))

    db.transact_write_items(TransactItems=[_first(kind, table)])

    after = _get(db, table, "a")
    if kind == "put":
        assert after == _item("a", status="PAID", extra="x")
        assert _status_index(db, table, "PAID") == ["a"]
    elif kind == "update":
        assert after is not None
        assert after["status"] == {"S": "PAID"} and "status_sort" not in after
        assert _buyer_index(db, table) == ["a"]  # the sparse index gains it
        assert _status_index(db, table, "PAID") == []  # no sort key, so not in by-status
        assert _status_index(db, table, "NEW") == []
    elif kind == "delete":
        assert after is None
        assert _status_index(db, table, "NEW") == []
    elif kind in ("put_new", "update_new"):
        assert _get(db, table, "a2") is not None
    else:
        assert after == _item("a")


def test_cancellation_reasons_come_in_order_with_the_old_items_asked_for(db: Any, table: str) -> None:
    for pk in "abcd":
        db.put_item(TableName=table, Item=_item(pk))

    reasons = _cancelled(
        db,
        [
            _first("update", table),
            _fails(table, "b"),
            {"ConditionCheck": {**_first("condition_check", table)["ConditionCheck"], "Key": _key("c")}},
            _fails(table, "d", all_old=False),
        ],
    )

    assert [reason["Code"] for reason in reasons] == [
        "None",
        "ConditionalCheckFailed",
        "None",
        "ConditionalCheckFailed",
    ]
    assert reasons[1]["Item"] == _item("b")
    assert "Item" not in reasons[3]
    assert all("Item" not in reason for reason in (reasons[0], reasons[2]))
    assert [_get(db, table, pk) for pk in "abcd"] == [_item(pk) for pk in "abcd"]


def test_all_old_on_a_missing_item_returns_no_item(db: Any, table: str) -> None:
    db.put_item(TableName=table, Item=_item("b"))
    missing = {"Put": {"TableName": table, "Item": _item("x"), "ConditionExpression": "attribute_exists(pk)"}}
    missing["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"

    reasons = _cancelled(db, [_fails(table, "b"), missing])

    assert [reason["Code"] for reason in reasons] == ["ConditionalCheckFailed", "ConditionalCheckFailed"]
    assert reasons[0]["Item"] == _item("b") and "Item" not in reasons[1]
    assert _get(db, table, "x") is None


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(db: Any, table: str) -> None:
    db.put_item(TableName=table, Item=_item("a"))
    items = [_first("put_new", table), _first("update", table), _first("delete", table)]

    with pytest.raises(ClientError) as raised:
        db.transact_write_items(TransactItems=items)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _get(db, table, "a") == _item("a")
    assert _get(db, table, "a2") is None


def test_an_entry_with_two_operations_is_refused_and_nothing_is_written(db: Any, table: str) -> None:
    """moto raised here without rolling back (keeping the entries before it): the hook rolls back."""
    db.put_item(TableName=table, Item=_item("a"))
    both = _first("update", table) | {"Put": {"TableName": table, "Item": _item("b")}}

    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=[_first("put_new", table), both])

    assert _get(db, table, "a2") is None
    assert _get(db, table, "a") == _item("a") and _get(db, table, "b") is None


def test_a_validation_error_on_a_later_item_writes_nothing(db: Any, table: str) -> None:
    db.put_item(TableName=table, Item=_item("a"))
    no_range_key = {
        "ConditionCheck": {
            "TableName": table,
            "Key": {"pk": {"S": "b"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }

    with pytest.raises(ClientError):
        db.transact_write_items(TransactItems=[_first("update", table), no_range_key])

    assert _get(db, table, "a") == _item("a")
    assert _buyer_index(db, table) == []


def test_a_successful_transaction_writes_every_item_and_its_index_entries(db: Any, table: str) -> None:
    db.put_item(TableName=table, Item=_item("a"))
    db.put_item(TableName=table, Item=_item("b"))

    db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": _item("b", status="PAID")}},
            {"Delete": {"TableName": table, "Key": _key("a")}},
            {"Put": {"TableName": table, "Item": _item("c", buyer_key="ja", buyer_sort="jane#c")}},
        ]
    )

    assert _get(db, table, "a") is None
    assert _status_index(db, table, "PAID") == ["b"]
    assert _status_index(db, table, "NEW") == ["c"]
    assert _buyer_index(db, table) == ["c"]


# --- cost and memory ------------------------------------------------------------------------------------


def _fill(db: Any, table: str, count: int) -> None:
    for start in range(0, count, 25):
        requests = [
            {"PutRequest": {"Item": _item(f"fill-{n}")}} for n in range(start, min(start + 25, count))
        ]
        db.batch_write_item(RequestItems={table: requests})


def _two_items(table: str, n: int, *, fail: bool) -> list[dict[str, Any]]:
    stock = {
        "Update": {
            "TableName": table,
            "Key": _key("stock"),
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"S": str(n)}},
        }
    }
    return [stock, _fails(table, "b") if fail else {"Put": {"TableName": table, "Item": _item("b")}}]


def _seconds_per_transaction(db: Any, table: str) -> float:
    """The median of a few runs of ten transactions (half of them cancelled and rolled back)."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for n in range(10):
            with contextlib.suppress(ClientError):
                db.transact_write_items(TransactItems=_two_items(table, n, fail=n % 2 == 1))
        runs.append((time.perf_counter() - started) / 10)
    return statistics.median(runs)


def test_a_transaction_costs_the_same_on_a_big_table(db: Any, table: str) -> None:
    _fill(db, table, 10)
    small = _seconds_per_transaction(db, table)
    _fill(db, table, 5_000)
    big = _seconds_per_transaction(db, table)

    # moto's own copies the table: about 100x here. Loose, so that a busy machine does not fail it.
    assert big < 3 * small, f"{big * 1000:.1f} ms on 5,000 items against {small * 1000:.1f} ms on 10"


def test_memory_does_not_grow_with_the_number_of_transactions(db: Any, table: str) -> None:
    _fill(db, table, 200)
    for n in range(50):  # warm: boto3's and moto's caches
        with pytest.raises(ClientError) if n % 2 else contextlib.nullcontext():
            db.transact_write_items(TransactItems=_two_items(table, n, fail=n % 2 == 1))
    gc.collect()
    before = len(gc.get_objects())

    for n in range(500):
        with pytest.raises(ClientError) if n % 2 else contextlib.nullcontext():
            db.transact_write_items(TransactItems=_two_items(table, n, fail=n % 2 == 1))
    gc.collect()
    grown = len(gc.get_objects()) - before

    # moto's own keeps every copy of the table alive: over a million objects here.
    assert grown < 5_000, f"{grown} more objects after 500 transactions"


def test_uninstall_puts_moto_back(hooked: None) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item as MotoItem

    assert moto_transactions.installed()
    moto_transactions.uninstall()
    try:
        assert DynamoDBBackend.transact_write_items is not moto_transactions.transact_write_items
        assert "__new__" not in vars(MotoItem)
        assert isinstance(MotoItem.instances_tracked, list)  # type: ignore[attr-defined]
    finally:
        moto_transactions.install()
