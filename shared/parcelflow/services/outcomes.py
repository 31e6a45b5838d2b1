"""What a package task hands back to the state machine: small, and the same shape for every task."""

from __future__ import annotations

from pydantic import BaseModel

from parcelflow.domain.models import Package


class PackageTask(BaseModel):
    order_id: str
    package_id: str


class PackageOutcome(BaseModel):
    order_id: str
    package_id: str
    status: str
    tracking_number: str | None = None

    @classmethod
    def of(cls, package: Package) -> PackageOutcome:
        return cls(
            order_id=package.order_id,
            package_id=package.package_id,
            status=package.status,
            tracking_number=package.tracking_number,
        )


class OrderTask(BaseModel):
    order_id: str
