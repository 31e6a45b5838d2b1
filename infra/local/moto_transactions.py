"""moto's DynamoDB TransactWriteItems with an undo log, and its instance tracker without the leak.

Installed by lambda_dispatch.LambdaDispatch (the one place that hooks moto internals; moto is pinned to
5.2.5 in pyproject.toml for this reason). Two things in moto 5.2.5 make the local stack slow down and grow
as its table grows:

- `DynamoDBBackend.transact_write_items` deep-copies every table a transaction names, before it starts, so
  that it can put the copies back if any item fails: a two-item transaction on a 2,000-order table copies
  the whole table twice.
- `BaseModel.__new__` appends every model instance to a class-level list, `instances_tracked` (for the
  moto-api dashboard), and nothing ever removes one: every copied table, every copied item and every item
  a put or an update replaced stays alive until /moto-api/reset.

`install()` replaces the first with the same loop over the transaction's items that keeps an undo log
instead: before an item is touched, the item it held (or its absence) is logged; if any item fails, the
log is played back in reverse. Only the items the transaction names are copied (an Update changes moto's
item in place, so that one is copied; a Put or a Delete replaces or removes it, so the old object is kept),
so a transaction costs the same on a table of ten items as on one of a million. Everything else is moto's
own code, called as moto calls it: each item's condition is checked against the table as it stood before
the transaction (an item can appear once only, so no item sees another's write), failures are collected
in order as CancellationReasons (with ALL_OLD items), a validation error cancels at once (and, unlike
moto, so does an entry with two operations: moto left the items before it written), and the secondary
indexes follow (moto computes them from the table's items at query time). A stream's records appended by a
cancelled transaction are removed again.

And it makes the DynamoDB models' `instances_tracked` hold weak references: the dashboard still lists the
live instances, the replaced ones are freed. (/moto-api/reset puts a plain list back; the next instance
replaces it again.)

Callers serialise DynamoDB requests (lambda_dispatch's lock): like moto's own, this code is not safe against
a concurrent write to the same table.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.model_instances import model_data
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table

_original: dict[str, Any] = {}


def installed() -> bool:
    return bool(_original)


def install() -> None:
    """Patch moto (process-wide). uninstall() puts moto's code back."""
    if _original:
        raise RuntimeError("moto_transactions is installed already")
    _original["transact_write_items"] = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for cls in _tracked_classes():
        # Instances that the old lists kept alive and nothing else holds are freed here.
        live = _LiveInstances(cls.__dict__.get("instances_tracked", ()))
        cls.instances_tracked = live  # type: ignore[attr-defined]
        cls.__new__ = staticmethod(_tracked_weakly)  # type: ignore[assignment]
    _original["tracked_classes"] = _tracked_classes()


def uninstall() -> None:
    if not _original:
        return
    DynamoDBBackend.transact_write_items = _original["transact_write_items"]  # type: ignore[method-assign]
    for cls in _original["tracked_classes"]:
        del cls.__new__  # BaseModel's again
        cls.instances_tracked = list(cls.__dict__.get("instances_tracked", ()))
    _original.clear()


# --- TransactWriteItems -------------------------------------------------------------------------------


@dataclass
class _Before:
    """One item as it was before the transaction touched it."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None  # None: there was no item
    had_hash_key: bool  # a range-keyed table's get_item adds an empty partition for an unknown hash key


@dataclass
class _StreamBefore:
    records: list[StreamRecord]
    length: int


class _UndoLog:
    def __init__(self) -> None:
        self._items: list[_Before] = []
        self._streams: dict[int, tuple[Any, _StreamBefore]] = {}

    def keep(
        self, table: Table, hash_key: DynamoType, range_key: DynamoType | None, *, copy_item: bool
    ) -> None:
        current = table.get_item(hash_key, range_key) if hash_key in table.items else None
        if current is not None and copy_item:
            current = copy.deepcopy(current)  # update_item changes moto's item in place
        self._items.append(_Before(table, hash_key, range_key, current, hash_key in table.items))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self._streams:
            self._streams[id(shard)] = (shard, _StreamBefore(shard.items, len(shard.items)))

    def roll_back(self) -> None:
        for before in reversed(self._items):
            items = before.table.items
            if before.table.has_range_key:
                partition = items[before.hash_key]
                if before.item is None:
                    partition.pop(before.range_key, None)
                else:
                    partition[before.range_key] = before.item
                if not before.had_hash_key and not partition:
                    del items[before.hash_key]
            elif before.item is None:
                items.pop(before.hash_key, None)
            else:
                items[before.hash_key] = before.item  # type: ignore[assignment]
        for shard, stream in self._streams.values():
            # If moto handed the records to a Lambda event source mapping, it emptied the list: those
            # records were delivered (as with moto's own rollback), and there is nothing left to remove.
            if shard.items is stream.records:
                del shard.items[stream.length :]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's DynamoDBBackend.transact_write_items, with an undo log in place of the table copies."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _UndoLog()

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []  # (Code, Message, Item)
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            undo.roll_back()  # moto raises without (so keeps the items before this one): no partial writes
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            # moto's self.get_item(table_name, key), in its steps, to log the item before it is touched.
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
            undo.keep(table, hash_key, range_key, copy_item=op_type == "Update")
            current = table.get_item(hash_key, range_key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            # Roll back to the original state, and reraise the error
            undo.roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # moto's: any other failure is the item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        # Roll back to the original state, and reraise the errors
        undo.roll_back()
        raise TransactionCanceledException(errors)


# --- the instance tracker -----------------------------------------------------------------------------


def _tracked_classes() -> list[type]:
    return [
        cls for cls in model_data["dynamodb"].values() if isinstance(cls, type) and issubclass(cls, BaseModel)
    ]


class _LiveInstances:
    """A stand-in for a class's `instances_tracked` list that does not keep its instances alive.

    moto's Item defines __eq__ without __hash__, so a WeakSet cannot hold it: keyed by id() instead (an
    entry goes when its instance does, before the id can be reused)."""

    def __init__(self, instances: Any = ()) -> None:
        self._refs: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        self._refs[id(instance)] = instance

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._refs.values()))

    def __len__(self) -> int:
        return len(self._refs)


def _tracked_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    """BaseModel.__new__ for moto's DynamoDB models: the instance is tracked, but not kept alive."""
    instance = super(BaseModel, cls).__new__(cls)  # type: ignore[misc]  # BaseModel.__new__, less the list
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, _LiveInstances):  # the class's own (moto's reset puts a new list there)
        tracked = _LiveInstances(tracked or ())
        cls.instances_tracked = tracked  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance
