"""The store list an operator reads: each store's sync health, and the credentials a platform refused."""

from __future__ import annotations

from parcelflow.domain.models import StoreHealth, StoreSyncState
from parcelflow.ports import Catalogue, SyncLedger


def mark_credentials_rejected(ledger: SyncLedger, store_id: str, reason: str) -> None:
    """Outside a sync run (a confirmation, a tracking correction): the store's health says so too."""
    previous = ledger.get_store_health(store_id)
    ledger.put_store_health(
        StoreHealth(
            store_id=store_id,
            state=StoreSyncState.CREDENTIALS_REJECTED,
            detail=reason,
            last_run_at=previous.last_run_at if previous else None,
            last_success_at=previous.last_success_at if previous else None,
        )
    )


def store_overview(catalogue: Catalogue, ledger: SyncLedger) -> list[tuple[str, str, StoreHealth | None]]:
    """(store id, marketplace, health or None when it never synced), every registered store."""
    health = {h.store_id: h for h in ledger.list_store_health()}
    return [(s.store_id, str(s.marketplace), health.get(s.store_id)) for s in catalogue.list_stores()]
