"""What the table itself refuses: an order the mappers did not bound still never blocks a store (moto)."""

from datetime import timedelta

import pytest

from parcelflow.adapters.dynamodb import DynamoDbTable
from parcelflow.domain.models import OrderLine, PlatformOrder, StoreSyncState, SyncCursor
from parcelflow.services.sync import StoreSyncReport, sync_store
from tests import factories
from tests.fakes import FakeMarketplace, FakeWorkflow, MemoryLabels


@pytest.fixture
def seeded(repo: DynamoDbTable) -> DynamoDbTable:
    repo.put_store(factories.store())
    repo.put_channel(factories.channel())
    return repo


def _sync(
    repo: DynamoDbTable, marketplace: FakeMarketplace, workflow: FakeWorkflow, archive: MemoryLabels
) -> StoreSyncReport:
    moment = factories.T0 + timedelta(hours=5)
    return sync_store(
        "amzus1",
        catalogue=repo,
        ledger=repo,
        orders=repo,
        marketplace_for=marketplace,
        workflow=workflow,
        archive=archive,
        now=lambda: moment,
        stock=repo,
    )


def _poison(platform_order_id: str, **fields: object) -> PlatformOrder:
    """An order as an adapter that bounded nothing would hand it over: past the models' checks."""
    good = factories.platform_order(platform_order_id)
    return PlatformOrder.model_construct(**(dict(good) | fields))


def test_a_poison_order_is_filed_as_rejected_and_the_rest_of_its_page_goes_on(
    seeded: DynamoDbTable,
) -> None:
    huge_title = [
        OrderLine(line_id="1", sku="SKU-1", title="x", quantity=1).model_copy(
            update={"title": "长" * 200_000}
        )
    ]
    huge_quantity = [
        OrderLine(line_id="1", sku="SKU-1", title="x", quantity=1).model_copy(update={"quantity": 10**40})
    ]
    marketplace = FakeMarketplace(
        orders=[
            factories.platform_order("111-1"),
            _poison("111-BIG", lines=huge_title),
            _poison("111-MANY", lines=huge_quantity),
            factories.platform_order("111-2"),
        ],
        page_size=2,
    )
    workflow = FakeWorkflow()
    archive = MemoryLabels()
    report = _sync(seeded, marketplace, workflow, archive=archive)
    assert report.state == StoreSyncState.OK and report.pages == 2
    assert workflow.started == ["amzus1-111-1", "amzus1-111-2"]
    assert seeded.get_sync_cursor("amzus1") == SyncCursor(since=marketplace.until)  # the cursor moved on
    rejected = {r.platform_order_id: r for r in seeded.list_rejected_orders("amzus1")}
    assert set(rejected) == {"111-BIG", "111-MANY"}
    assert "bytes as stored" in rejected["111-BIG"].error
    assert "not a DynamoDB item" in rejected["111-MANY"].error
    # The 600 KB payload is kept in the archive, referenced from the rejected record.
    big = rejected["111-BIG"]
    assert big.raw == {} and big.raw_key is not None and big.raw_key in archive.objects
    assert len(archive.objects[big.raw_key]) > 600_000
