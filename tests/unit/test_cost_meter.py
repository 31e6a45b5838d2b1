"""The cost meter's arithmetic: DynamoDB capacity as AWS bills it, and the pricing of what was counted."""

from __future__ import annotations

from collections import Counter

import pytest

from infra.local.cost import (
    PRICES,
    Index,
    Usage,
    index_write_units,
    item_size,
    price,
    read_units,
    value_size,
    write_units,
)

KEYS = ("pk", "sk")
BY_STATUS = Index("by-status", ("status_key", "status_sort"))


def _item(size: int, **extra: str) -> dict[str, dict[str, str]]:
    """An item of exactly `size` bytes: pk, sk and a padding string, plus `extra` string attributes."""
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, **{k: {"S": v} for k, v in extra.items()}}
    pad = size - item_size(item) - len("pad")
    assert pad >= 0
    return {**item, "pad": {"S": "x" * pad}}


def test_item_size_follows_the_documented_rules() -> None:
    assert item_size({"name": {"S": "héllo"}}) == 4 + 6  # UTF-8 bytes of the name and of the value
    assert value_size({"N": "12345"}) == 4  # three pairs of significant digits, plus 1
    assert value_size({"N": "-0.00120"}) == 2  # zeros trimmed: "12"
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"L": []}) == value_size({"M": {}}) == 3
    assert value_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"k": {"S": "vv"}}}) == 3 + 1 + 1 + 2
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert value_size({"B": b"\x00\x01\x02"}) == 3


def test_write_units_per_kilobyte_rounded_up() -> None:
    assert write_units(None, _item(1024)) == (1.0, 0.0)
    assert write_units(None, _item(1025)) == (2.0, 0.0)
    assert write_units(None, _item(10)) == (1.0, 0.0)


def test_the_larger_image_counts_and_a_delete_pays_the_old_item() -> None:
    assert write_units(_item(3000), _item(500)) == (3.0, 0.0)
    assert write_units(_item(500), _item(2100)) == (3.0, 0.0)
    assert write_units(_item(2100), None) == (3.0, 0.0)
    assert write_units(_item(2100), _item(2100)) == (3.0, 0.0)  # a failed condition still pays


def test_a_transaction_doubles_the_table_units_not_the_index_units() -> None:
    old = _item(1500, status_key="ORDER#a", status_sort="1")
    new = _item(1500, status_key="ORDER#b", status_sort="2")
    assert write_units(old, new, indexes=[BY_STATUS], table_keys=KEYS) == (2.0, 2.0)
    assert write_units(old, new, transactional=True, indexes=[BY_STATUS], table_keys=KEYS) == (4.0, 2.0)


def test_index_writes_follow_what_the_index_holds() -> None:
    a = _item(200, status_key="ORDER#a", status_sort="1")
    b = _item(200, status_key="ORDER#b", status_sort="2")
    bare = _item(200)
    assert index_write_units(None, a, BY_STATUS, KEYS) == 1  # entry added
    assert index_write_units(a, None, BY_STATUS, KEYS) == 1  # entry removed
    assert index_write_units(a, bare, BY_STATUS, KEYS) == 1  # the item left the (sparse) index
    assert index_write_units(a, b, BY_STATUS, KEYS) == 2  # key changed: delete and put
    assert index_write_units(bare, _item(300), BY_STATUS, KEYS) == 0  # never in the index
    # Keys only: a change to an attribute it does not project writes nothing to it.
    assert index_write_units(a, {**a, "pad": {"S": "changed"}}, BY_STATUS, KEYS) == 0


def test_projected_attributes_changed_cost_one_index_write() -> None:
    include = Index("by-status", ("status_key", "status_sort"), "INCLUDE", ("store_id",))
    everything = Index("by-status", ("status_key", "status_sort"), "ALL")
    a = _item(200, status_key="K", status_sort="1", store_id="s1")
    assert index_write_units(a, {**a, "store_id": {"S": "s2"}}, include, KEYS) == 1
    assert index_write_units(a, {**a, "pad": {"S": "y"}}, include, KEYS) == 0
    assert index_write_units(a, {**a, "pad": {"S": "y"}}, everything, KEYS) == 1
    big = _item(1500, status_key="K", status_sort="1")
    assert index_write_units(None, big, everything, KEYS) == 2  # an index entry is billed per 1 KB too


def test_read_units_per_four_kilobytes() -> None:
    assert read_units([4096], consistent=True, per_item=True) == 1.0
    assert read_units([4097], consistent=True, per_item=True) == 2.0
    assert read_units([4097], consistent=False, per_item=True) == 1.0
    assert read_units([0], consistent=False, per_item=True) == 0.5  # a missing item still costs a read
    assert read_units([100, 100], consistent=True, transactional=True, per_item=True) == 4.0
    # A query sums the sizes of the items it reads before rounding; a batch get rounds each item.
    assert read_units([3000, 3000], consistent=True, per_item=False) == 2.0
    assert read_units([100] * 10, consistent=True, per_item=True) == 10.0
    assert read_units([100] * 10, consistent=False, per_item=False) == 0.5
    assert read_units([], consistent=True, per_item=False) == 1.0


def test_price_sums_its_lines_and_prices_each_at_its_list_price() -> None:
    usage = Usage(
        requests=Counter({("s3", "PUT"): 10, ("s3", "GET"): 10, ("secretsmanager", "GetSecretValue"): 4}),
        sqs_chunks=30,
        dynamodb_wru=600.0,
        dynamodb_index_wru=200.0,
        dynamodb_rru=300.0,
        lambda_invocations=50,
        lambda_gb_s=2.0,
        express_executions=10,
        express_gb_s=0.5,
        log_bytes=1_000_000,
        api_requests=10,
        secrets=3,
    )
    figures = price(usage, orders=10)
    services = ("dynamodb", "lambda", "stepfunctions", "sqs", "eventbridge", "s3", "secretsmanager", "logs")
    lines = [figures[f"cost.{service}_usd_per_1000_orders"] for service in (*services, "apigateway")]
    assert all(figures[f"cost.{s}_usd_per_1000_orders"] > 0 for s in services if s != "eventbridge")
    assert figures["cost.usd_per_1000_orders"] == pytest.approx(sum(lines))
    # The secrets' monthly fee is a figure of its own, not in the per-order total.
    assert figures["cost.secretsmanager_usd_per_1000_orders"] == pytest.approx(
        100 * 4 * PRICES["secretsmanager.api_call"]
    )
    assert figures["cost.dynamodb_usd_per_1000_orders"] == pytest.approx(
        100 * (800 * PRICES["dynamodb.write_request_unit"] + 300 * PRICES["dynamodb.read_request_unit"])
    )
    assert figures["cost.s3_usd_per_1000_orders"] == pytest.approx(
        100 * (10 * PRICES["s3.tier1_request"] + 10 * PRICES["s3.tier2_request"])
    )
    assert figures["cost.lambda_usd_per_1000_orders"] == pytest.approx(
        100 * (50 * PRICES["lambda.request"] + 2.0 * PRICES["lambda.gb_second"])
    )
    assert figures["cost.logs_usd_per_1000_orders"] == pytest.approx(100 * 0.001 * PRICES["logs.ingested_gb"])
    assert figures["cost.dynamodb_wru_per_order"] == 80.0
    assert figures["cost.fixed_usd_per_month"] == pytest.approx(3 * PRICES["secretsmanager.secret_month"])


def test_reads_are_billed_from_what_the_answer_holds() -> None:
    from infra.local.cost import _read_units

    item = _item(5000)
    get = _read_units("GetItem", {"ConsistentRead": True}, {"Item": item})
    assert get == 2.0
    assert _read_units("GetItem", {}, {}) == 0.5  # nothing found, eventually consistent
    # Three keys asked, one found, none unprocessed: two missing items still cost a unit each.
    batch = _read_units(
        "BatchGetItem",
        {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}},
        {"Responses": {"t": [item]}},
    )
    assert batch == 2.0 + 1.0 + 1.0
    query = _read_units("Query", {}, {"Items": [_item(3000), _item(3000)], "Count": 2})
    assert query == 1.0  # 6,000 bytes summed: two units, halved


def test_every_item_a_write_touches_is_a_target() -> None:
    from infra.local.cost import _write_targets

    key = {"pk": {"S": "P"}, "sk": {"S": "S"}}
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {**key, "a": {"S": "1"}}}},
            {"Update": {"TableName": "t", "Key": key}},
            {"ConditionCheck": {"TableName": "u", "Key": key}},
            {"Delete": {"TableName": "t", "Key": key}},
        ]
    }
    assert [t for t, _ in _write_targets("TransactWriteItems", transaction)] == ["t", "t", "u", "t"]
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": key}}, {"DeleteRequest": {"Key": key}}]}}
    assert _write_targets("BatchWriteItem", batch) == [("t", key), ("t", key)]
    assert _write_targets("UpdateItem", {"TableName": "t", "Key": key}) == [("t", key)]
