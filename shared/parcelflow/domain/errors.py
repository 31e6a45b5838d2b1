"""Named errors. Their class names are the state machine's contract: ASL `ErrorEquals` matches them.

Business errors (the order or the package is in a state that needs a person) are caught and end the
execution in a visible state; transient errors (the other side is down or slow) are retried.
"""

from __future__ import annotations


class ParcelflowError(Exception):
    """Base of every error the pipeline raises on purpose."""


class BusinessError(ParcelflowError):
    """Needs a person: retrying will not help."""


class TransientError(ParcelflowError):
    """The other side failed or is slow: the same call may succeed later."""


class OrderNotFound(BusinessError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class PackageNotFound(BusinessError):
    def __init__(self, package_ref: str) -> None:
        super().__init__(f"no package {package_ref}")
        self.package_ref = package_ref


class StoreNotFound(BusinessError):
    def __init__(self, store_id: str) -> None:
        super().__init__(f"no store {store_id}")


class ChannelNotFound(BusinessError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no logistics channel {code}")


class OrderNotActive(BusinessError):
    """The order was held or cancelled while work on it was under way: stop before spending money."""

    def __init__(self, order_id: str, status: str, reason: str | None) -> None:
        super().__init__(f"order {order_id} is {status}: {reason or 'no reason given'}")


class WaybillRejected(BusinessError):
    """The carrier refused the pre-advice (bad address, postcode, weight…): fix and retry."""

    def __init__(self, package_id: str, reason: str) -> None:
        super().__init__(f"carrier rejected package {package_id}: {reason}")
        self.package_id = package_id
        self.reason = reason


class CarrierUnavailable(TransientError):
    pass


class WaybillNotCancellable(BusinessError):
    """The carrier did not confirm the cancellation (its warehouse has the parcel, the order is gone…):
    the waybill stays live, and nothing is pre-advised again."""

    def __init__(self, customer_order_number: str, reason: str) -> None:
        super().__init__(f"carrier order {customer_order_number} was not cancelled: {reason}")
        self.customer_order_number = customer_order_number
        self.reason = reason


class CustomsDeclarationInvalid(BusinessError):
    """The package's customs declaration (报关信息) would be refused: each problem names the SKU and the
    field. Found before any pre-advice, so no freight is bought for it."""

    def __init__(self, package_id: str, problems: list[str]) -> None:
        super().__init__(f"customs declaration of {package_id}: {'; '.join(problems)}")
        self.package_id = package_id
        self.problems = problems


class WaybillInProgress(TransientError):
    """Another run holds the package's waybill claim and its lease has not run out: it may be talking to
    the carrier right now, so this run must not. Retried; once the lease is over, a run takes it over."""

    def __init__(self, package_id: str, lease_until: str) -> None:
        super().__init__(
            f"package {package_id}: another run is requesting its waybill (lease until {lease_until})"
        )
        self.package_id = package_id


class OrderNotStorable(BusinessError):
    """The order maps but cannot be written as it is (too big, or refused by the table): it is filed as
    rejected with the reason, and the sync goes on."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class MarketplaceRejected(BusinessError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MarketplaceUnavailable(TransientError):
    pass


class ConcurrentChange(TransientError):
    """Someone else changed the item between our read and our write, and it is not a replay."""


class CredentialsRejected(BusinessError):
    """The platform refuses the store's credentials even with a fresh token: someone must renew them."""

    def __init__(self, store_id: str, reason: str) -> None:
        super().__init__(f"store {store_id}: credentials rejected: {reason}")
        self.store_id = store_id
        self.reason = reason


class SyncPaused(TransientError):
    """The platform's rate limit would keep the run past its time budget. Every page handed over before
    this was raised is stored, so the next run resumes from the cursor."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(f"{reason}; resume in {retry_after_s:.0f} s or later")
        self.reason = reason
        self.retry_after_s = retry_after_s


class PrintBatchNotFound(BusinessError):
    def __init__(self, batch_id: str) -> None:
        super().__init__(f"no print batch {batch_id}")
        self.batch_id = batch_id


class LabelNotPrintable(BusinessError):
    """A label asked to print that must not be: its parcel left, its order is held, it has no label yet."""

    def __init__(self, package_id: str, reason: str) -> None:
        super().__init__(f"the label of package {package_id} cannot be printed: {reason}")
        self.package_id = package_id
        self.reason = reason
