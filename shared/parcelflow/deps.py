"""Cached factories: the only place where adapters are wired to services. Nothing runs at import time.

Nothing is imported at import time either beyond what every function needs (the settings): each factory
imports its adapter when first called, so a function pays only for the adapters it uses, and a marketplace
or carrier adapter only when a store or channel of its kind is met (tests/unit/test_import_costs.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from parcelflow.adapters import aws
from parcelflow.config import get_settings, require

if TYPE_CHECKING:
    import httpx

    from parcelflow.adapters.dynamodb import DynamoDbTable
    from parcelflow.adapters.events import EventBridgeEvents
    from parcelflow.adapters.idempotency import DynamoDbOnceGuard
    from parcelflow.adapters.s3_labels import S3LabelStorage
    from parcelflow.adapters.sqs import SqsConfirmationQueue, SqsDeadLetters, SqsStoreSyncQueue
    from parcelflow.adapters.stepfunctions import StepFunctionsWorkflow
    from parcelflow.domain.models import Channel, Store
    from parcelflow.ports import (
        CarrierClient,
        Catalogue,
        MarketplaceClient,
        OrderBook,
        OrderEvents,
        PrintBatchBook,
        RuleBook,
        Stock,
        SyncLedger,
    )
    from parcelflow.services.printing import Printing


@lru_cache(maxsize=1)
def _table() -> DynamoDbTable:
    from parcelflow.adapters.dynamodb import DynamoDbTable

    settings = get_settings()
    return DynamoDbTable(settings.table_name, aws.dynamodb(), pii_retention=settings.pii_retention)


def catalogue() -> Catalogue:
    return _table()


def ledger() -> SyncLedger:
    return _table()


def orders() -> OrderBook:
    return _table()


def rulebook() -> RuleBook:
    return _table()


def batches() -> PrintBatchBook:
    return _table()


def printing() -> Printing:
    """What every print needs, from the settings: the table, the label bucket, the warehouse's clock."""
    from parcelflow.services.printing import Printing  # only the functions that print load the renderers

    settings = get_settings()
    return Printing(
        orders=orders(),
        catalogue=catalogue(),
        batches=batches(),
        labels=labels(),
        expires_in_s=settings.label_url_expiry_s,
        tz=settings.warehouse_tz,
    )


@lru_cache(maxsize=1)
def stock_events() -> EventBridgeEvents:
    from parcelflow.adapters.events import EventBridgeEvents

    return EventBridgeEvents(aws.events())


def order_events() -> OrderEvents:
    return stock_events()  # one EventBridge client and bus for both


@lru_cache(maxsize=1)
def stock() -> Stock:
    from parcelflow.adapters.stock import DynamoDbStock

    return DynamoDbStock(get_settings().table_name, aws.dynamodb())


@lru_cache(maxsize=1)
def labels() -> S3LabelStorage:
    from parcelflow.adapters.s3_labels import S3LabelStorage

    return S3LabelStorage(get_settings().label_bucket, aws.s3())


@lru_cache(maxsize=1)
def workflow() -> StepFunctionsWorkflow:
    from parcelflow.adapters.stepfunctions import StepFunctionsWorkflow

    arn = require(get_settings().state_machine_arn, "STATE_MACHINE_ARN")
    return StepFunctionsWorkflow(arn, aws.stepfunctions())


@lru_cache(maxsize=1)
def confirmations() -> SqsConfirmationQueue:
    from parcelflow.adapters.sqs import SqsConfirmationQueue

    url = require(get_settings().confirm_queue_url, "CONFIRM_QUEUE_URL")
    return SqsConfirmationQueue(url, aws.sqs())


@lru_cache(maxsize=1)
def dead_letters() -> SqsDeadLetters:
    from parcelflow.adapters.sqs import SqsDeadLetters

    url = require(get_settings().confirm_dead_letter_queue_url, "CONFIRM_DLQ_URL")
    return SqsDeadLetters(url, confirmations(), aws.sqs())


@lru_cache(maxsize=1)
def store_syncs() -> SqsStoreSyncQueue:
    from parcelflow.adapters.sqs import SqsStoreSyncQueue

    url = require(get_settings().sync_queue_url, "SYNC_QUEUE_URL")
    return SqsStoreSyncQueue(url, aws.sqs())


@lru_cache(maxsize=1)
def once() -> DynamoDbOnceGuard:
    from parcelflow.adapters.idempotency import DynamoDbOnceGuard

    return DynamoDbOnceGuard(get_settings().idempotency_table, aws.dynamodb())


@lru_cache(maxsize=1)
def http() -> httpx.Client:
    """One connection pool per warm Lambda for every marketplace and carrier call."""
    import httpx  # only the functions that call a marketplace or a carrier pay for it

    return httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), headers={"User-Agent": "parcelflow/0.1"})


def marketplace_for(store: Store) -> MarketplaceClient:
    from parcelflow.adapters import registry, secrets

    return registry.marketplace_client(store, secrets.read_secret(store.secret_name), http())


def confirming_marketplace_for(store: Store) -> MarketplaceClient:
    """For the confirmation consumer: its instances run side by side, each on its part of the rate."""
    from parcelflow.adapters import registry, secrets

    share = get_settings().confirm_rate_share
    return registry.marketplace_client(
        store, secrets.read_secret(store.secret_name), http(), rate_share=share
    )


def carrier_for(channel: Channel) -> CarrierClient:
    from parcelflow.adapters import registry, secrets

    return registry.carrier_client(channel, secrets.read_secret(channel.secret_name), http())


def reset() -> None:
    """Forget everything wired so far (tests and the local stack point the process elsewhere)."""
    from parcelflow.adapters import ratelimit, secrets
    from parcelflow.adapters.marketplaces import lwa

    for factory in (
        _table,
        stock,
        stock_events,
        labels,
        workflow,
        confirmations,
        dead_letters,
        store_syncs,
        once,
        http,
    ):
        factory.cache_clear()
    get_settings.cache_clear()
    aws.reset_clients()
    secrets.forget_secrets()
    lwa.clear_token_cache()
    ratelimit.clear_shared_throttles()
