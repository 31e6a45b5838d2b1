"""The scanners' API (POST /scans): what a scanner sends and what it is answered, as pydantic models.

The scan Lambda validates requests with `ScanRequest` and answers with `ScanResult`; the HTTP status of
each verdict is `STATUS_BY_VERDICT`. The other answers are `ScanUnknownCode` (404) and `ScanRefusal` (400,
413 and 422: a body that could not be read, or does not fit `ScanRequest`). These models carry the field
descriptions an OpenAPI document is generated from.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parcelflow.domain.models import WeightCheck

MAX_WEIGHT_G = 100_000  # no channel takes a parcel of more than 100 kg; a larger reading is a misread


class ScanRequest(BaseModel):
    """One scan of a parcel's label, optionally with what the scale under it reads."""

    model_config = ConfigDict(title="ScanRequest")

    # Scanners append a line break or pad with spaces; an empty read is a bad request, not a look-up.
    # Tracking numbers are printable ASCII: a control character (NUL, ESC) or any other is a misread.
    code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")
    ] = Field(description="the tracking number, as scanned (surrounding spaces and line breaks are ignored)")
    scanner_id: str = Field(
        default="unknown",
        min_length=1,
        max_length=64,
        pattern=r"^[\w.-]+$",
        description="which scan station sent it (letters, digits, `_`, `.`, `-`); written to the history",
    )
    # Strict: a whole number of grams. "250", 250.0 and true are refused, not read as 250 or 1: a scale
    # that sends kilograms or text is misconfigured, and guessing its unit would ship the wrong parcel.
    weight_g: int | None = Field(
        default=None,
        strict=True,
        gt=0,
        le=MAX_WEIGHT_G,
        description=(
            "what the parcel weighs on the station's scale, in whole grams (1 to 100000); when given and "
            "outside the package's expected weight ± its channel's tolerance the answer is CHECK WEIGHT "
            "and the parcel is not shipped. Absent or null: no weight check"
        ),
    )


class ScanVerdict(StrEnum):
    """What the packer does with the parcel. The HTTP status of each is in STATUS_BY_VERDICT."""

    SHIPPED = "shipped"  # put it on the outgoing pile
    ALREADY_SCANNED = "already_scanned"
    STOP = "stop"  # put it aside: it must not leave
    NOT_READY = "not_ready"  # its label was never printed through Parcelflow
    # Put it aside and check its contents: the scale disagrees with what was packed. 409, as STOP: the
    # request was well formed (a 422 would tell the scanner's software its request was wrong, and some
    # retry or drop such answers) and the conflict is with the package as recorded, which the packer
    # resolves by repacking or by weighing again; a rescan within the tolerance ships it.
    CHECK_WEIGHT = "check_weight"


STATUS_BY_VERDICT: dict[ScanVerdict, int] = {
    ScanVerdict.SHIPPED: 200,
    ScanVerdict.ALREADY_SCANNED: 200,
    ScanVerdict.STOP: 409,
    ScanVerdict.NOT_READY: 409,
    ScanVerdict.CHECK_WEIGHT: 409,
}


class ScanResult(BaseModel):
    """The answer to a scan of a known parcel (200 or 409, by verdict)."""

    model_config = ConfigDict(title="ScanResult")

    verdict: ScanVerdict = Field(description="what to do with the parcel")
    message: str = Field(
        description="what the station shows the packer: `OK - shipped`, `STOP - …`, `CHECK WEIGHT - …`"
    )
    tracking_number: str = Field(description="the code as looked up (trimmed)")
    order_id: str
    package_id: str
    scanned_at: datetime | None = Field(
        default=None, description="when the parcel was scanned out, if it was"
    )
    weight_check: WeightCheck | None = Field(
        default=None,
        description="the weighing of this scan, when the request gave a weight and it was checked",
    )


# The models of the other answers document them (docs/openapi.json): the Lambda writes those bodies itself,
# so their validators are built only where the document is made (defer_build), not in its cold start.
_DOCUMENTS_ONLY = ConfigDict(defer_build=True)


class ScanUnknownCode(BaseModel):
    """404: no package has this tracking number."""

    model_config = _DOCUMENTS_ONLY

    verdict: Literal["unknown"] = "unknown"
    message: str = Field(description="`STOP - unknown code: …`")


class ScanRefusalDetail(BaseModel):
    model_config = _DOCUMENTS_ONLY

    loc: list[str | int] = Field(description='where: ["body"] or ["body", "<field>"]')
    type: str = Field(description="what kind of error (`json_invalid`, `body_too_large`, `int_type`, …)")
    msg: str = Field(description="what was wrong, for a person")


class ScanRefusal(BaseModel):
    """400 (unreadable body), 413 (over 16 KiB) or 422 (the body does not fit ScanRequest)."""

    model_config = _DOCUMENTS_ONLY

    statusCode: int | None = Field(default=None, description="400 or 413; absent on a 422")  # noqa: N815
    message: str | None = Field(default=None, description="the first error, for a person; absent on a 422")
    detail: list[ScanRefusalDetail] = Field(min_length=1)
