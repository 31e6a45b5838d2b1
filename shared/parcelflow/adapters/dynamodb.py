"""The catalogue, the sync ledger and the order book on one DynamoDB table. Key design and access patterns:
docs/architecture.md. Only conditional-write mechanics live here; what to write is decided in the domain.

Every status change is a conditional write on the expected current status and version. When the
condition fails, the item as it is now (ALL_OLD) decides: already at the target is a replay and
succeeds; anything else is re-evaluated against the transition table, at most a few times.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel, TypeAdapter

from parcelflow.domain import limits
from parcelflow.domain.errors import (
    ChannelNotFound,
    ConcurrentChange,
    LabelNotPrintable,
    OrderNotFound,
    OrderNotStorable,
    PackageNotFound,
    PrintBatchNotFound,
    StoreNotFound,
    WaybillInProgress,
)
from parcelflow.domain.models import (
    Channel,
    HistoryEntry,
    Marketplace,
    Order,
    Package,
    Store,
    utcnow,
)
from parcelflow.domain.orders import PlatformUpdate, lagging_rollup_mover, order_status_after
from parcelflow.domain.statuses import (
    PACKAGE_PROGRESS,
    FulfilmentStatus,
    IllegalTransition,
    check_transition,
)
from parcelflow.ports import (
    BUYER_PREFIX_CHARS,
    InvalidCursor,
    OrderFilter,
    OrdersPage,
    OrderView,
    WaybillClaim,
    buyer_name_key,
    decode_cursor,
    encode_cursor,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parcelflow.domain.catalogue import Product
    from parcelflow.domain.pairing import Pairing, PairingBook
    from parcelflow.domain.platform import RejectedPlatformOrder, StoreHealth, SyncCursor
    from parcelflow.domain.printing import PrintBatch
    from parcelflow.domain.review_rules import RuleSet

# The products, pairings, review rules and print batches are each read by a few functions only: their
# modules (the review rules' are the largest of the domain) load where they are read, not with the table.

M = TypeVar("M", bound=BaseModel)

STATUS_INDEX = "by-status"
TRACKING_INDEX = "by-tracking-number"
# Sparse (only orders with an address carry its keys): buyer_key = a name's first two folded characters,
# buyer_sort = `<folded name>#<order id>`, so a name search is one Query with begins_with.
BUYER_INDEX = "by-buyer"
# The TTL attribute of OrdersTable (template.yaml) and when it is set: an order's final statuses.
PII_TTL_ATTRIBUTE = "pii_expires_at"
PII_EXPIRES_AFTER = frozenset({FulfilmentStatus.CONFIRMED, FulfilmentStatus.CANCELLED})
DEFAULT_PII_RETENTION_DAYS = 90
# A filtered tab page reads at most this many index entries before it answers (short, with a cursor).
_MAX_EXAMINED = 500
_ATTEMPTS = 4
# A rejected order's error is what an operator reads: a few lines, never the payload again.
_MAX_ERROR_CHARS = 1000
# Fields of the order and package items that must be present even when None (the model requires them).
_NULL_KEPT = frozenset(
    name for model in (Order, Package) for name, f in model.model_fields.items() if f.is_required()
)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def _package_sk(seq: int) -> str:
    return f"PACKAGE#{seq:03d}"


_DATETIME = TypeAdapter(datetime)


def _plain(value: Any) -> Any:
    """A value as DynamoDB can hold it: models and datetimes in their JSON form.

    Datetimes are written exactly as a model's JSON writes them (UTC as `Z`): items are created from
    `model_dump(mode="json")` and conditions compare those strings with the ones written here.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)  # an absent attribute reads as None
    if isinstance(value, datetime):
        return _DATETIME.dump_python(value, mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _without_nulls(model: BaseModel) -> dict[str, Any]:
    """A model's JSON form without its None values (they read back as None, and cost bytes in every
    write of the item), but with the required ones that may be None (an order's address before payment)."""
    data = model.model_dump(mode="json", exclude_none=True)
    return data | {name: None for name in _NULL_KEPT if name in type(model).model_fields and name not in data}


def _update_expression(sets: list[str], removes: list[str]) -> str:
    return "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")


def _to_item(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in attrs.items()}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _as_model(model: type[M], item: Mapping[str, Any]) -> M:
    data = _from_item(item)
    return model.model_validate({k: v for k, v in data.items() if k in model.model_fields})


def _rejected_sk(store_id: str, platform_order_id: str) -> str:
    """`<store>#<platform order id>`; an id no order could carry is keyed by its digest (keys: 1 KB)."""
    try:
        limits.bounded_id(platform_order_id)
    except limits.LimitExceeded:
        return f"{store_id}#sha256:{hashlib.sha256(platform_order_id.encode('utf-8', 'replace')).hexdigest()}"
    return f"{store_id}#{platform_order_id}"


def _pairing(item: Mapping[str, Any]) -> Pairing:
    from parcelflow.domain.pairing import Pairing

    return Pairing.model_validate_json(item["pairing"]["S"])


def _cut(text: str, max_chars: int) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be stored
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _item_bytes(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it, near enough: names and values in UTF-8."""
    return len(json.dumps(item, ensure_ascii=False).encode("utf-8", "replace"))


def _status_keys(kind: str, status: FulfilmentStatus, entity_id: str, at: datetime) -> dict[str, str]:
    return {"status_key": f"{kind}#{status}", "status_sort": f"{at.isoformat()}#{entity_id}"}


def _buyer_keys(order_id: str, address: Any) -> dict[str, str]:
    """The by-buyer index's keys for an order shipping to `address` (an Address or its dict); none
    without a name, so the index stays sparse."""
    name = address.get("name") if isinstance(address, dict) else getattr(address, "name", None)
    key = buyer_name_key(name or "")
    if not key:
        return {}
    return {"buyer_key": key[:BUYER_PREFIX_CHARS], "buyer_sort": f"{key}#{order_id}"}


_CURSOR_KEYS = {"pk", "sk", "status_key", "status_sort"}


def _tab_start(cursor: str, status_key: str) -> dict[str, Any]:
    position = decode_cursor(cursor)
    if (
        set(position) != _CURSOR_KEYS
        or not all(isinstance(v, str) for v in position.values())
        or position["status_key"] != status_key
    ):
        raise InvalidCursor(f"cursor: not one handed out for {status_key.removeprefix('ORDER#')}")
    return _to_item(position)


class _Mover(NamedTuple):
    """The package change a rollup follows: its order's history entry, and the expiry it carried."""

    package_id: str
    reason: str
    by: str
    expiry: dict[str, int]


class TableItems:
    """Reads and writes of items on the one table, shared by its adapters (the ports' and the stock's)."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._db = client

    def _put(self, attrs: dict[str, Any]) -> None:
        self._db.put_item(TableName=self._table, Item=_to_item(attrs))

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._db.get_item(
            TableName=self._table, Key=_to_item({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        return found.get("Item")

    def _query_partition(
        self,
        pk: str,
        sk_prefix: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """A partition's items in sort-key order (newest_first: reversed), paged through, up to `limit`."""
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else "")
        values: dict[str, Any] = {":pk": pk} | ({":prefix": sk_prefix} if sk_prefix else {})
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _to_item(values),
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        while limit is None or len(items) < limit:
            if limit is not None:
                kwargs["Limit"] = limit - len(items)
            page = self._db.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self._table: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            while pending:
                page = self._db.batch_get_item(RequestItems=pending)
                for item in page["Responses"].get(self._table, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                pending = page.get("UnprocessedKeys") or {}
        return [found[(k["pk"]["S"], k["sk"]["S"])] for k in keys if (k["pk"]["S"], k["sk"]["S"]) in found]


class DynamoDbTable(TableItems):
    """The one table (OrdersTable) as the ports it holds: Catalogue, RuleBook, SyncLedger and OrderBook.

    When an order is confirmed or cancelled, its item and its packages' get `pii_expires_at` (epoch
    seconds, the table's TTL attribute): DynamoDB deletes the whole order - the buyer's name, address and
    phone with it - `pii_retention` later (PersonalDataRetentionDays in template.yaml).
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        pii_retention: timedelta = timedelta(days=DEFAULT_PII_RETENTION_DAYS),
    ) -> None:
        super().__init__(table_name, client)
        self._pii_retention = pii_retention

    def _pii_expiry(self, target: FulfilmentStatus, now: datetime) -> dict[str, int]:
        """The TTL attribute an order's items take when the order reaches `target`, if it is final."""
        if target not in PII_EXPIRES_AFTER:
            return {}
        return {PII_TTL_ATTRIBUTE: int((now + self._pii_retention).timestamp())}

    def _pii_expiry_updates(
        self, order_id: str, packages: Iterable[Package], expiry: dict[str, int]
    ) -> list[Any]:
        """The same expiry on each package item (they go with their order), for the order's transaction."""
        if not expiry:
            return []
        sets, values, names, _ = self._set_clauses(expiry)
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _to_item({"pk": _order_pk(order_id), "sk": _package_sk(p.seq)}),
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": _to_item(values),
                }
            }
            for p in packages
        ]

    # --- stores, channels and sync cursors -------------------------------------------------------

    def put_store(self, store: Store) -> None:
        self._put({"pk": "STORES", "sk": store.store_id, **store.model_dump(mode="json")})

    def get_store(self, store_id: str) -> Store:
        item = self._get("STORES", store_id)
        if item is None:
            raise StoreNotFound(store_id)
        return _as_model(Store, item)

    def list_stores(self) -> list[Store]:
        return [_as_model(Store, i) for i in self._query_partition("STORES")]

    def put_channel(self, channel: Channel) -> None:
        self._put({"pk": "CHANNELS", "sk": channel.code, **channel.model_dump(mode="json")})

    def list_channels(self) -> list[Channel]:
        return [_as_model(Channel, i) for i in self._query_partition("CHANNELS")]

    def get_channel(self, code: str) -> Channel:
        item = self._get("CHANNELS", code)
        if item is None:
            raise ChannelNotFound(code)
        return _as_model(Channel, item)

    def put_products(self, products: Sequence[Product]) -> None:
        """BatchWriteItem, 25 at a time; what DynamoDB leaves unprocessed is sent again."""
        items = [{"pk": "PRODUCTS", "sk": p.sku, **p.model_dump(mode="json")} for p in products]
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                self._table: [{"PutRequest": {"Item": _to_item(i)}} for i in items[start : start + 25]]
            }
            while pending:
                pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        from parcelflow.domain.catalogue import Product

        keys = [_to_item({"pk": "PRODUCTS", "sk": sku}) for sku in sorted(set(skus))]
        return {item["sk"]["S"]: _as_model(Product, item) for item in self._batch_get(keys)}

    def list_products(self) -> list[Product]:
        from parcelflow.domain.catalogue import Product

        return [_as_model(Product, i) for i in self._query_partition("PRODUCTS")]

    def put_pairing(self, pairing: Pairing) -> None:
        scope, match = pairing.key
        self._put({"pk": "PAIRINGS", "sk": f"{scope}|{match}", "pairing": pairing.model_dump_json()})

    def pairing_book(self, store_id: str, marketplace: Marketplace, skus: Iterable[str]) -> PairingBook:
        """The three scopes' strip rules (a Query each), then the exact and case-insensitive pairings the
        SKUs and their remainders can use (one BatchGetItem): never the whole list."""
        from parcelflow.domain.pairing import PairingBook, context_scopes, keys_to_load

        rules = [
            _pairing(item)
            for scope in context_scopes(store_id, marketplace)
            for item in self._query_partition("PAIRINGS", sk_prefix=f"{scope.key}|strip_")
        ]
        keys = keys_to_load(skus, store_id=store_id, marketplace=marketplace, rules=rules)
        found = self._batch_get([_to_item({"pk": "PAIRINGS", "sk": f"{s}|{m}"}) for s, m in keys])
        return PairingBook([*rules, *(_pairing(item) for item in found)])

    def list_pairings(self) -> list[Pairing]:
        return [_pairing(item) for item in self._query_partition("PAIRINGS")]

    def get_rules(self) -> RuleSet:
        from parcelflow.domain.review_rules import RuleSet

        item = self._get("RULES", "ACTIVE")
        return RuleSet.model_validate_json(item["rules"]["S"]) if item else RuleSet(rules=())

    def put_rules(self, rules: RuleSet) -> None:
        self._put({"pk": "RULES", "sk": "ACTIVE", "rules": rules.model_dump_json(), "at": utcnow()})

    # --- print batches ---------------------------------------------------------------------------

    def put_batch(self, batch: PrintBatch) -> None:
        # One partition: a warehouse prints tens of batches a day, and the listing is newest first by key.
        self._put({"pk": "PRINT_BATCHES", "sk": batch.batch_id, "batch": batch.model_dump_json()})

    def get_batch(self, batch_id: str) -> PrintBatch:
        from parcelflow.domain.printing import PrintBatch

        item = self._get("PRINT_BATCHES", batch_id)
        if item is None:
            raise PrintBatchNotFound(batch_id)
        return PrintBatch.model_validate_json(item["batch"]["S"])

    def list_batches(self, limit: int = 50) -> list[PrintBatch]:
        from parcelflow.domain.printing import PrintBatch

        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": "PRINT_BATCHES"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [PrintBatch.model_validate_json(item["batch"]["S"]) for item in page["Items"]]

    def get_sync_cursor(self, store_id: str) -> SyncCursor | None:
        item = self._get("SYNC_CURSORS", store_id)
        from parcelflow.domain.platform import SyncCursor

        return _as_model(SyncCursor, item) if item else None

    def set_sync_cursor(self, store_id: str, cursor: SyncCursor) -> None:
        self._put({"pk": "SYNC_CURSORS", "sk": store_id, **cursor.model_dump(mode="json")})

    def put_store_health(self, health: StoreHealth) -> None:
        self._put({"pk": "STORE_HEALTH", "sk": health.store_id, **health.model_dump(mode="json")})

    def get_store_health(self, store_id: str) -> StoreHealth | None:
        item = self._get("STORE_HEALTH", store_id)
        from parcelflow.domain.platform import StoreHealth

        return _as_model(StoreHealth, item) if item else None

    def list_store_health(self) -> list[StoreHealth]:
        from parcelflow.domain.platform import StoreHealth

        return [_as_model(StoreHealth, i) for i in self._query_partition("STORE_HEALTH")]

    def claim_sync_slot(self, store_id: str, now: datetime, every: timedelta) -> bool:
        """The slot is the interval's start; a second tick in the same interval fails the condition."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_to_item({"pk": "SYNC_SLOTS", "sk": store_id, "claimed_at": now}),
                ConditionExpression="attribute_not_exists(pk) OR claimed_at <= :due",
                ExpressionAttributeValues=_to_item({":due": now - every}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_rejected_order(self, store_id: str, rejected: RejectedPlatformOrder) -> None:
        """The latest version of what the platform sent, with why it was refused (one item per order).

        The caller keeps a payload too big for an item elsewhere (`raw_key`); an id too long or too odd
        for a key is keyed by its digest, and the error is cut to what an operator reads.
        """
        self._put(
            {
                "pk": "REJECTED",
                "sk": _rejected_sk(store_id, rejected.platform_order_id),
                "seen_at": utcnow().isoformat(),
                **rejected.model_dump(mode="json", exclude={"raw", "error", "platform_order_id"}),
                "platform_order_id": _cut(rejected.platform_order_id, limits.MAX_TEXT_CHARS),
                "error": _cut(rejected.error, _MAX_ERROR_CHARS),
                # Platform payloads may hold floats, which DynamoDB's number type refuses: keep them as text.
                "raw": json.dumps(rejected.raw, default=str),
            }
        )

    def delete_rejected_order(self, store_id: str, platform_order_id: str) -> None:
        """A later sync mapped the order: it is no longer on the rejected list."""
        self._db.delete_item(
            TableName=self._table,
            Key=_to_item({"pk": "REJECTED", "sk": _rejected_sk(store_id, platform_order_id)}),
        )

    def list_rejected_orders(self, store_id: str | None = None) -> list[RejectedPlatformOrder]:
        from parcelflow.domain.platform import RejectedPlatformOrder

        items = self._query_partition("REJECTED", sk_prefix=f"{store_id}#" if store_id else None)
        rejected = []
        for item in items:
            data = _from_item(item)
            data["raw"] = json.loads(data["raw"])
            rejected.append(
                RejectedPlatformOrder.model_validate(
                    {k: v for k, v in data.items() if k in RejectedPlatformOrder.model_fields}
                )
            )
        return rejected

    # --- orders -------------------------------------------------------------------------------

    def create_order(self, order: Order) -> Order | None:
        """A new order's item; the order already stored under its id instead, if there is one."""
        now = order.history[0].at if order.history else utcnow()
        try:
            item = _to_item(self._order_attrs(order, now))
        except (TypeError, ValueError, ArithmeticError) as exc:  # e.g. a number of over 38 digits
            raise OrderNotStorable("(order)", f"not a DynamoDB item: {type(exc).__name__}") from exc
        size = _item_bytes(item)
        if size > limits.MAX_ORDER_ITEM_BYTES:
            raise OrderNotStorable(
                "(order)", f"{size} bytes as stored, over the {limits.MAX_ORDER_ITEM_BYTES} an order may take"
            )
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ValidationException":  # whatever the bounds missed: refused here, not every run
                raise OrderNotStorable("(order)", exc.response["Error"].get("Message", code)) from exc
            if code != "ConditionalCheckFailedException":
                raise
            return _as_model(Order, exc.response["Item"])  # type: ignore[typeddict-item]
        return None

    def apply_platform_update(self, order_id: str, update: PlatformUpdate) -> Order | None:
        """The condition keeps an older sight, processed late, from overwriting a newer platform state."""
        values: dict[str, Any] = {
            ":ps": update.platform_status,
            ":raw": update.platform_status_raw,
            ":pu": update.platform_updated_at,
            ":sb": update.ship_by,
            ":one": 1,
        }
        sets = (
            "SET platform_status = :ps, platform_status_raw = :raw, platform_updated_at = :pu, "
            "ship_by = :sb, version = version + :one"
        )
        if update.shipping_address is not None:
            sets += ", shipping_address = :addr"
            values[":addr"] = update.shipping_address
            buyer = _buyer_keys(order_id, update.shipping_address)
            if buyer:
                sets += ", buyer_key = :bk, buyer_sort = :bs"
                values |= {":bk": buyer["buyer_key"], ":bs": buyer["buyer_sort"]}
        try:
            result = self._db.update_item(
                TableName=self._table,
                Key=_to_item({"pk": _order_pk(order_id), "sk": "ORDER"}),
                UpdateExpression=sets,
                ConditionExpression=(
                    "platform_updated_at < :pu OR (platform_updated_at = :pu AND platform_status <> :ps)"
                ),
                ExpressionAttributeValues=_to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None
        return _as_model(Order, result["Attributes"])

    def get_order(self, order_id: str) -> Order:
        item = self._get(_order_pk(order_id), "ORDER")
        if item is None:
            raise OrderNotFound(order_id)
        return _as_model(Order, item)

    def get_order_view(self, order_id: str) -> OrderView:
        """One Query for the order's partition, one BatchGetItem for its store and channels."""
        order, packages = self._order_with_packages(order_id)
        codes = sorted(
            {p.channel_code for p in packages} | ({order.channel_code} if order.channel_code else set())
        )
        keys = [_to_item({"pk": "STORES", "sk": order.store_id})]
        keys += [_to_item({"pk": "CHANNELS", "sk": code}) for code in codes]
        store: Store | None = None
        channels: dict[str, Channel] = {}
        for item in self._batch_get(keys):
            if item["pk"]["S"] == "STORES":
                store = _as_model(Store, item)
            else:
                channel = _as_model(Channel, item)
                channels[channel.code] = channel
        if store is None:
            raise StoreNotFound(order.store_id)
        return OrderView(order=order, packages=packages, store=store, channels=channels)

    def get_packages(self, order_id: str) -> list[Package]:
        return [
            _as_model(Package, i) for i in self._query_partition(_order_pk(order_id), sk_prefix="PACKAGE#")
        ]

    def get_package(self, order_id: str, package_id: str) -> Package:
        for package in self.get_packages(order_id):
            if package.package_id == package_id:
                return package
        raise PackageNotFound(package_id)

    def find_package_by_tracking(self, tracking_number: str) -> Package | None:
        found = self._db.query(
            TableName=self._table,
            IndexName=TRACKING_INDEX,
            KeyConditionExpression="tracking_number = :t",
            ExpressionAttributeValues=_to_item({":t": tracking_number}),
            Limit=1,
        )["Items"]
        if not found:
            return None
        keys = _from_item(found[0])
        item = self._get(keys["pk"], keys["sk"])
        return _as_model(Package, item) if item else None

    def list_orders_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Order]:
        return [_as_model(Order, i) for i in self._query_status(f"ORDER#{status}", limit)]

    def list_packages_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Package]:
        return [_as_model(Package, i) for i in self._query_status(f"PACKAGE#{status}", limit)]

    def count_orders_by_status(self, status: FulfilmentStatus) -> int:
        """Select=COUNT over the status index, page by page (a page counts at most 1 MB of entries)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "status_key = :s",
            "ExpressionAttributeValues": _to_item({":s": f"ORDER#{status}"}),
            "Select": "COUNT",
        }
        total = 0
        while True:
            page = self._db.query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def page_orders_by_status(
        self,
        status: FulfilmentStatus,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: OrderFilter | None = None,
    ) -> OrdersPage:
        """The index is KEYS_ONLY, so a FilterExpression could not see the store, country or lines: the
        filter runs here on the items of each index page (batch get), and the cursor is the index key of
        the last entry looked at. A filtered page stops after _MAX_EXAMINED entries, short if need be."""
        status_key = f"ORDER#{status}"
        filtering = filters is not None and not filters.empty
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "status_key = :s",
            "ExpressionAttributeValues": _to_item({":s": status_key}),
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _tab_start(cursor, status_key)
        found: list[Order] = []
        examined = 0
        while True:
            kwargs["Limit"] = min(100, _MAX_EXAMINED - examined) if filtering else limit - len(found)
            page = self._db.query(**kwargs)
            entries = page["Items"]
            items = {
                (i["pk"]["S"], i["sk"]["S"]): i
                for i in self._batch_get([{"pk": e["pk"], "sk": e["sk"]} for e in entries])
            }
            for n, entry in enumerate(entries, start=1):
                examined += 1
                item = items.get((entry["pk"]["S"], entry["sk"]["S"]))
                # The index is eventually consistent: what has moved on since it was read is skipped.
                if item is not None and item.get("status_key", {}).get("S") == status_key:
                    order = _as_model(Order, item)
                    if filters is None or filters.matches(order):
                        found.append(order)
                if len(found) == limit and (n < len(entries) or "LastEvaluatedKey" in page):
                    return OrdersPage(found, encode_cursor(_from_item(entry)), examined)
            if "LastEvaluatedKey" not in page:
                return OrdersPage(found, None, examined)
            if examined >= _MAX_EXAMINED and filtering:
                return OrdersPage(found, encode_cursor(_from_item(page["LastEvaluatedKey"])), examined)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def find_orders_by_buyer(self, name: str, limit: int = 20) -> list[Order]:
        key = buyer_name_key(name)
        if len(key) < BUYER_PREFIX_CHARS:
            return []
        entries = self._db.query(
            TableName=self._table,
            IndexName=BUYER_INDEX,
            KeyConditionExpression="buyer_key = :k AND begins_with(buyer_sort, :p)",
            ExpressionAttributeValues=_to_item({":k": key[:BUYER_PREFIX_CHARS], ":p": key}),
            Limit=limit,
        )["Items"]
        items = self._batch_get([{"pk": e["pk"], "sk": e["sk"]} for e in entries])
        # A name corrected since the index was read no longer matches.
        return [_as_model(Order, i) for i in items if i.get("buyer_sort", {}).get("S", "").startswith(key)]

    def orders_in_status_since(self, status: FulfilmentStatus, changed_before: datetime) -> Iterator[Order]:
        """Every order that has been in `status` since before `changed_before`, oldest first, page by page."""
        for item in self._stale(f"ORDER#{status}", changed_before):
            yield _as_model(Order, item)

    def packages_in_status_since(
        self, status: FulfilmentStatus, changed_before: datetime
    ) -> Iterator[Package]:
        """Every package that has been in `status` since before `changed_before`, oldest first."""
        for item in self._stale(f"PACKAGE#{status}", changed_before):
            yield _as_model(Package, item)

    def update_order_fields(
        self, order_id: str, changes: dict[str, Any], *, note: tuple[str, str] | None = None
    ) -> Order:
        """Fields that are not a status change (a flag, an alert, a corrected address), guarded only by the
        order existing; with a note, the change is also written to the order's history."""
        if changes.get("shipping_address") is not None:  # the by-buyer index follows the name
            changes = {**changes, **_buyer_keys(order_id, changes["shipping_address"])}
        sets, values, names, removes = self._set_clauses(changes)
        sets.append("version = version + :one")
        values[":one"] = 1
        if note is not None:
            status = self.get_order(order_id).status
            reason, by = note
            entry = HistoryEntry(from_status=status, to_status=status, reason=reason, at=utcnow(), by=by)
            sets.append("history = list_append(history, :entry)")
            values[":entry"] = [entry]
        try:
            result = self._db.update_item(
                TableName=self._table,
                Key=_to_item({"pk": _order_pk(order_id), "sk": "ORDER"}),
                UpdateExpression=_update_expression(sets, removes),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_item(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise OrderNotFound(order_id) from exc
            raise
        return _as_model(Order, result["Attributes"])

    def set_order_field_once(
        self, order_id: str, field: str, value: Any, *, note: tuple[str, str] | None = None
    ) -> Order | None:
        """One UpdateItem on the field holding nothing (absent, NULL or false); a failed condition is told
        apart by the item it returns (ALL_OLD): no item is OrderNotFound, one is a write already made."""
        sets = ["#f = :v", "version = version + :one"]
        values: dict[str, Any] = {":v": value, ":one": 1, ":false": False}
        if note is not None:
            status = self.get_order(order_id).status
            reason, by = note
            entry = HistoryEntry(from_status=status, to_status=status, reason=reason, at=utcnow(), by=by)
            sets.append("history = list_append(history, :entry)")
            values[":entry"] = [entry]
        try:
            result = self._db.update_item(
                TableName=self._table,
                Key=_to_item({"pk": _order_pk(order_id), "sk": "ORDER"}),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(#f) OR attribute_type(#f, :null) "
                    "OR #f = :false)"
                ),
                ExpressionAttributeNames={"#f": field},
                ExpressionAttributeValues=_to_item(values) | {":null": {"S": "NULL"}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                if not exc.response.get("Item"):
                    raise OrderNotFound(order_id) from exc
                return None
            raise
        return _as_model(Order, result["Attributes"])

    # --- status changes ---------------------------------------------------------------------------

    def transition_order(
        self,
        order_id: str,
        target: FulfilmentStatus,
        *,
        reason: str,
        by: str,
        changes: dict[str, Any] | None = None,
    ) -> Order:
        if target in PII_EXPIRES_AFTER:
            return self._finish_order(order_id, target, reason=reason, by=by, changes=changes or {})
        order = self.get_order(order_id)
        for _ in range(_ATTEMPTS):
            if not check_transition(f"order {order_id}", order.status, target):
                return order
            update, _ = self._status_update(
                "ORDER",
                order_id,
                {"pk": _order_pk(order_id), "sk": "ORDER"},
                order.status,
                order.version,
                target,
                reason,
                by,
                changes or {},
            )
            try:
                result = self._db.update_item(TableName=self._table, ReturnValues="ALL_NEW", **update)
                return _as_model(Order, result["Attributes"])
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                order = _as_model(Order, exc.response["Item"])  # type: ignore[typeddict-item]
        raise ConcurrentChange(f"order {order_id} kept changing while moving it to {target}")

    def _finish_order(
        self, order_id: str, target: FulfilmentStatus, *, reason: str, by: str, changes: dict[str, Any]
    ) -> Order:
        """transition_order to a final status: the order and its packages take their expiry in one go."""
        for _ in range(_ATTEMPTS):
            order, packages = self._order_with_packages(order_id)
            if not check_transition(f"order {order_id}", order.status, target):
                return order
            expiry = self._pii_expiry(target, utcnow())
            update, entry = self._status_update(
                "ORDER",
                order_id,
                {"pk": _order_pk(order_id), "sk": "ORDER"},
                order.status,
                order.version,
                target,
                reason,
                by,
                {**changes, **expiry},
            )
            items: list[Any] = [{"Update": {"TableName": self._table, **update}}]
            items += self._pii_expiry_updates(order_id, packages, expiry)
            try:
                self._db.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                continue  # re-read and decide again: a replay, an illegal move, or a retry
            return Order.model_validate(
                order.model_dump()
                | {"status": target, "version": order.version + 1, "history": [*order.history, entry]}
                | changes
            )
        raise ConcurrentChange(f"order {order_id} kept changing while moving it to {target}")

    def start_processing(
        self, order_id: str, packages: list[Package], *, channel_code: str, reason: str, by: str
    ) -> list[Package]:
        """pending_review -> pending_processing and the packages created, in one transaction."""
        order = self.get_order(order_id)
        if not check_transition(f"order {order_id}", order.status, FulfilmentStatus.PENDING_PROCESSING):
            return self.get_packages(order_id)
        now = utcnow()
        update, _ = self._status_update(
            "ORDER",
            order_id,
            {"pk": _order_pk(order_id), "sk": "ORDER"},
            order.status,
            order.version,
            FulfilmentStatus.PENDING_PROCESSING,
            reason,
            by,
            {"channel_code": channel_code},
        )
        created = [
            p.model_copy(
                update={
                    "history": [
                        HistoryEntry(from_status=None, to_status=p.status, reason=reason, at=now, by=by)
                    ]
                }
            )
            for p in packages
        ]
        items: list[Any] = [{"Update": {"TableName": self._table, **update}}]
        items += self._new_package_puts(created, now)
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            current = self.get_order(order_id)
            if current.status in PACKAGE_PROGRESS:
                return self.get_packages(order_id)  # someone else already started it: a replay
            raise IllegalTransition(
                f"order {order_id}", current.status, FulfilmentStatus.PENDING_PROCESSING
            ) from exc
        return created

    def replace_packages(
        self, order_id: str, remove: list[Package], add: list[Package], *, reason: str, by: str
    ) -> list[Package]:
        """拆包 and 合包 before pre-advice: `remove` (as the caller read them) deleted and `add` created, with
        a line in the order's history, in one transaction. ConcurrentChange when any of them, or the order,
        changed since it was read: the caller reads again and decides again."""
        order = self.get_order(order_id)
        now = utcnow()
        entry = HistoryEntry(from_status=order.status, to_status=order.status, reason=reason, at=now, by=by)
        items: list[Any] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _to_item({"pk": _order_pk(order_id), "sk": "ORDER"}),
                    "UpdateExpression": (
                        "SET history = list_append(history, :entry), version = version + :one"
                    ),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": _to_item(
                        {":entry": [entry], ":one": 1, ":version": order.version}
                    ),
                }
            }
        ]
        items += [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _to_item({"pk": _order_pk(order_id), "sk": _package_sk(p.seq)}),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": _to_item({":version": p.version}),
                }
            }
            for p in remove
        ]
        created = [
            p.model_copy(update={"history": [HistoryEntry(to_status=p.status, reason=reason, at=now, by=by)]})
            for p in add
        ]
        items += self._new_package_puts(created, now)
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise ConcurrentChange(f"order {order_id} changed while its packages were being changed") from exc
        return created

    def transition_package(
        self,
        order_id: str,
        package_id: str,
        target: FulfilmentStatus,
        *,
        reason: str,
        by: str,
        changes: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Package:
        """A package's status change (one conditional UpdateItem), then, when it moves the order's rollup,
        the order's (a second conditional write, `_settle_rollup`).

        The rollup can always be computed again from the packages, so it need not be written atomically
        with the package: if the process dies between the two writes, the next read of the order with its
        packages (`_order_with_packages`: every transition, a replay of this one, the order view every
        task and message reads first) writes it. `expected_version`: the change is meant for the package
        as the caller read it; if it has changed since (even to the target), ConcurrentChange, never a
        replay.
        """
        for _ in range(_ATTEMPTS):
            order, packages = self._order_with_packages(order_id)  # a lagging rollup is settled here
            package = next((p for p in packages if p.package_id == package_id), None)
            if package is None:
                raise PackageNotFound(package_id)
            if expected_version is not None and package.version != expected_version:
                raise ConcurrentChange(f"package {package_id} changed while moving it to {target}")
            if not check_transition(f"package {package_id}", package.status, target):
                return package
            new_order_status = order_status_after(
                order.status, [target if p.package_id == package_id else p.status for p in packages]
            )
            # The package that finishes its order finishes it for personal data too: every item expires.
            expiry = self._pii_expiry(new_order_status, utcnow()) if new_order_status is not None else {}
            package_update, entry = self._status_update(
                "PACKAGE",
                package_id,
                {"pk": _order_pk(order_id), "sk": _package_sk(package.seq)},
                package.status,
                package.version,
                target,
                reason,
                by,
                {**(changes or {}), **expiry},
            )
            try:
                self._db.update_item(TableName=self._table, **package_update)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # re-read and decide again: a replay, an illegal move, or a retry
            # What was just written, without reading it back.
            moved = Package.model_validate(
                package.model_dump()
                | {"status": target, "version": package.version + 1, "history": [*package.history, entry]}
                | (changes or {})
            )
            mover = _Mover(package_id, f"package {package_id}: {reason}", by, expiry)
            if len(packages) > 1:
                # Its siblings may have moved since they were read: the rollup is taken from them as they
                # are now (the last of two concurrent package writes always sees both).
                self._order_with_packages(order_id, mover=mover)
            elif new_order_status is not None:
                self._settle_rollup(order, [moved], mover=mover)
            return moved
        raise ConcurrentChange(f"package {package_id} kept changing while moving it to {target}")

    def claim_waybill(
        self,
        order_id: str,
        package_id: str,
        *,
        owner: str,
        lease_until: datetime,
        now: datetime,
        reason: str,
        by: str,
    ) -> WaybillClaim:
        """The exclusive right to call the carrier for this package, until `lease_until`.

        From pending_processing or waybill_failed the claim is the status change itself (with the order's
        rollup, one transaction). A package already waybill_requested is taken over only when its lease has
        run out (the run that held it is gone: the lease outlasts the function's timeout) or was released;
        otherwise WaybillInProgress. Every claim after the first must look the waybill up at the carrier
        before creating one: an earlier run may have bought it and died before writing the numbers.
        """
        claim = {"attempt_owner": owner, "lease_until": lease_until}
        for _ in range(_ATTEMPTS):
            _, packages = self._order_with_packages(order_id)
            package = next((p for p in packages if p.package_id == package_id), None)
            if package is None:
                raise PackageNotFound(package_id)
            attempts = {"waybill_attempts": package.waybill_attempts + 1}
            if package.status != FulfilmentStatus.WAYBILL_REQUESTED:
                try:
                    claimed = self.transition_package(
                        order_id,
                        package_id,
                        FulfilmentStatus.WAYBILL_REQUESTED,
                        reason=reason,
                        by=by,
                        changes={**claim, **attempts, "failure_reason": None},
                        expected_version=package.version,
                    )
                except ConcurrentChange:
                    continue  # someone else moved it first: look again
                return WaybillClaim(claimed, look_up_first=package.waybill_attempts > 0)
            if package.attempt_owner == owner:
                return WaybillClaim(package, look_up_first=package.waybill_attempts > 1)
            if package.lease_until is not None and package.lease_until > now:
                raise WaybillInProgress(package_id, _plain(package.lease_until))
            try:
                taken = self._update_package(
                    order_id,
                    package.seq,
                    {**claim, **attempts},
                    "#status_now = :expected AND version = :version",
                    {":expected": FulfilmentStatus.WAYBILL_REQUESTED, ":version": package.version},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # another run took it over, or it moved on: look again
            return WaybillClaim(taken, look_up_first=True)
        raise ConcurrentChange(f"package {package_id} kept changing while claiming its waybill")

    def release_waybill_claim(
        self, order_id: str, package_id: str, owner: str, *, failure_reason: str | None = None
    ) -> None:
        """The run ends without numbers (the carrier is down, it has not assigned one yet): the next run
        need not wait for the lease. Nothing happens if the claim is no longer this run's."""
        package = self.get_package(order_id, package_id)
        changes: dict[str, Any] = {"attempt_owner": None, "lease_until": None}
        if failure_reason is not None:
            changes["failure_reason"] = failure_reason
        try:
            self._update_package(
                order_id,
                package.seq,
                changes,
                "#status_now = :expected AND attempt_owner = :owner",
                {":expected": FulfilmentStatus.WAYBILL_REQUESTED, ":owner": owner},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def record_print(
        self, order_id: str, package_id: str, *, batch_id: str | None, at: datetime, by: str
    ) -> Package:
        """The count goes up in the same conditional write as the history entry, so two reprints at once
        count two and a package that moved on (scanned out, sent back) is refused, never reprinted."""
        package = self.get_package(order_id, package_id)
        awaiting = FulfilmentStatus.AWAITING_SCAN
        where = f" in batch {batch_id}" if batch_id else ""
        entry = HistoryEntry(
            from_status=awaiting, to_status=awaiting, reason=f"label reprinted{where}", at=at, by=by
        )
        try:
            result = self._db.update_item(
                TableName=self._table,
                Key=_to_item({"pk": _order_pk(order_id), "sk": _package_sk(package.seq)}),
                UpdateExpression=(
                    "SET print_count = if_not_exists(print_count, :zero) + :one, last_printed_at = :at, "
                    "history = list_append(history, :entry), version = version + :one"
                ),
                ConditionExpression="#status_now = :expected",
                ExpressionAttributeNames={"#status_now": "status"},
                ExpressionAttributeValues=_to_item(
                    {":zero": 0, ":one": 1, ":at": at, ":entry": [entry], ":expected": awaiting}
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            now = _as_model(Package, exc.response["Item"])  # type: ignore[typeddict-item]
            raise LabelNotPrintable(package_id, f"it is {now.status}") from exc
        return _as_model(Package, result["Attributes"])

    def update_package_fields(
        self, order_id: str, package_id: str, expected: FulfilmentStatus, changes: dict[str, Any]
    ) -> Package:
        """Fields that belong to the current status (the waybill numbers, an error), guarded by it."""
        package = self.get_package(order_id, package_id)
        try:
            return self._update_package(
                order_id, package.seq, changes, "#status_now = :expected", {":expected": expected}
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            now = _as_model(Package, exc.response["Item"])  # type: ignore[typeddict-item]
            raise IllegalTransition(f"package {package_id}", now.status, expected) from exc

    def _update_package(
        self,
        order_id: str,
        seq: int,
        changes: dict[str, Any],
        condition: str,
        condition_values: dict[str, Any],
    ) -> Package:
        """SET `changes` (and the version) on the condition, which may name the status as #status_now;
        the package as written, or the ClientError with the item as it is (ALL_OLD)."""
        sets, values, names, removes = self._set_clauses(changes)
        names["#status_now"] = "status"
        result = self._db.update_item(
            TableName=self._table,
            Key=_to_item({"pk": _order_pk(order_id), "sk": _package_sk(seq)}),
            UpdateExpression=_update_expression([*sets, "version = version + :one"], removes),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_item({**values, **condition_values, ":one": 1}),
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return _as_model(Package, result["Attributes"])

    # --- helpers ----------------------------------------------------------------------------------

    def _order_attrs(self, order: Order, now: datetime) -> dict[str, Any]:
        return {
            "pk": _order_pk(order.order_id),
            "sk": "ORDER",
            "kind": "order",
            **_status_keys("ORDER", order.status, order.order_id, now),
            **_buyer_keys(order.order_id, order.shipping_address),
            **_without_nulls(order),
        }

    def _new_package_puts(self, packages: list[Package], now: datetime) -> list[Any]:
        """Transaction items creating these packages, each refused if its key is taken."""
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _to_item(self._package_attrs(p, now)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for p in packages
        ]

    def _package_attrs(self, package: Package, now: datetime) -> dict[str, Any]:
        attrs = {
            "pk": _order_pk(package.order_id),
            "sk": _package_sk(package.seq),
            "kind": "package",
            **_status_keys("PACKAGE", package.status, package.package_id, now),
            **_without_nulls(package),
        }
        return attrs

    def _status_update(
        self,
        kind: str,
        entity_id: str,
        key: dict[str, str],
        current: FulfilmentStatus,
        version: int,
        target: FulfilmentStatus,
        reason: str,
        by: str,
        changes: dict[str, Any],
    ) -> tuple[dict[str, Any], HistoryEntry]:
        """The conditional update of one status change, and the history entry it appends."""
        now = utcnow()
        entry = HistoryEntry(from_status=current, to_status=target, reason=reason, at=now, by=by)
        sets, values, names, removes = self._set_clauses(
            {"status": target, **_status_keys(kind, target, entity_id, now), **changes}
        )
        sets += ["version = version + :one", "history = list_append(history, :entry)"]
        values |= {":expected": current, ":version": version, ":one": 1, ":entry": [entry]}
        names["#status_now"] = "status"
        update = {
            "Key": _to_item(key),
            "UpdateExpression": _update_expression(sets, removes),
            "ConditionExpression": "#status_now = :expected AND version = :version",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _to_item(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return update, entry

    @staticmethod
    def _set_clauses(
        changes: dict[str, Any],
    ) -> tuple[list[str], dict[str, Any], dict[str, str], list[str]]:
        """SET clauses, their values and names, and the REMOVE clauses of the fields set to None: an
        absent attribute reads as None and costs nothing (a stored NULL is bytes in every later write)."""
        sets, values, names, removes = [], {}, {}, []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = field
            if value is None and field not in _NULL_KEPT:
                removes.append(f"#f{i}")
                continue
            values[f":v{i}"] = value
            sets.append(f"#f{i} = :v{i}")
        return sets, values, names, removes

    def _order_with_packages(
        self, order_id: str, *, mover: _Mover | None = None
    ) -> tuple[Order, list[Package]]:
        """The order and its packages (one Query), the order's rollup settled if it lags its packages."""
        order, packages = self._read_order_partition(order_id)
        return self._settle_rollup(order, packages, mover=mover), packages

    def _read_order_partition(self, order_id: str) -> tuple[Order, list[Package]]:
        order: Order | None = None
        packages: list[Package] = []
        for item in self._query_partition(_order_pk(order_id)):
            sk = item["sk"]["S"]
            if sk == "ORDER":
                order = _as_model(Order, item)
            elif sk.startswith("PACKAGE#"):
                packages.append(_as_model(Package, item))
        if order is None:
            raise OrderNotFound(order_id)
        return order, packages

    def _settle_rollup(self, order: Order, packages: list[Package], *, mover: _Mover | None = None) -> Order:
        """The order with the status its packages give it written, if it does not hold it yet.

        A package change is written before the rollup it causes (transition_package), so an order can lag
        its packages: for an instant, or until this runs if the process died between the two writes. The
        history entry is the one the package change would have written: `package <id>: <its reason>`, by
        its writer (`mover`, or the package changed last). A rollup that makes the order final also gives
        its packages the order's expiry, in one transaction with the order (the mover's own write carried
        it already, with the same time).
        """
        for _ in range(_ATTEMPTS):
            # No packages: nothing to roll up (an order is never settled into cancelled by an empty list).
            target = order_status_after(order.status, [p.status for p in packages]) if packages else None
            if target is None:
                return order
            if mover is None:
                reason, by = lagging_rollup_mover(order, packages)
            else:
                reason, by = mover.reason, mover.by
            expiry = self._pii_expiry(target, utcnow())
            if expiry and mover is not None and mover.expiry:
                expiry = mover.expiry
            update, entry = self._status_update(
                "ORDER",
                order.order_id,
                {"pk": _order_pk(order.order_id), "sk": "ORDER"},
                order.status,
                order.version,
                target,
                reason,
                by,
                expiry,
            )
            written = mover.package_id if mover is not None and mover.expiry else None
            others = self._pii_expiry_updates(
                order.order_id, [p for p in packages if p.package_id != written], expiry
            )
            try:
                if others:
                    items: list[Any] = [{"Update": {"TableName": self._table, **update}}, *others]
                    self._db.transact_write_items(TransactItems=items)
                else:
                    self._db.update_item(TableName=self._table, **update)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in (
                    "ConditionalCheckFailedException",
                    "TransactionCanceledException",
                ):
                    raise
                order, packages = self._read_order_partition(order.order_id)  # decide again
                continue
            return Order.model_validate(
                order.model_dump()
                | {"status": target, "version": order.version + 1, "history": [*order.history, entry]}
            )
        raise ConcurrentChange(f"order {order.order_id} kept changing while settling its rollup")

    def _query_status(self, status_key: str, limit: int) -> list[dict[str, Any]]:
        """The index holds keys only (cheap to rewrite on every change); the items come by batch get."""
        keys: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "status_key = :s",
            "ExpressionAttributeValues": _to_item({":s": status_key}),
            "Limit": limit,
        }
        while len(keys) < limit:
            page = self._db.query(**kwargs)
            keys += [{"pk": i["pk"], "sk": i["sk"]} for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items = self._batch_get(keys[:limit])
        # The index is eventually consistent: drop what has moved on since it was read.
        return [i for i in items if i.get("status_key", {}).get("S") == status_key]

    def _stale(self, status_key: str, changed_before: datetime) -> Iterator[dict[str, Any]]:
        """Items whose status changed before the cutoff: the index's sort key starts with that moment."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "status_key = :s AND status_sort < :cutoff",
            "ExpressionAttributeValues": _to_item({":s": status_key, ":cutoff": changed_before.isoformat()}),
            "Limit": 100,
        }
        while True:
            page = self._db.query(**kwargs)
            keys = [{"pk": i["pk"], "sk": i["sk"]} for i in page["Items"]]
            for item in self._batch_get(keys):
                if item.get("status_key", {}).get("S") == status_key:  # moved on since the index was read
                    yield item
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
