"""Every 4PX choice that the reference does not settle, in one place, each with what we do about it.

Confirmed by the reference (shared/reference/README.md, "4PX"): the endpoint, the query parameters and the
sign, the envelope's `result` values, `000017` (too many requests), `DS000007` (a create with a ref_no
that is still being processed), the request fields of create, get, cancel and label. Everything below is
our best reading; each is chosen so that a wrong guess costs a retry or a person's look, never a second
freight charge.
"""

from __future__ import annotations

API_VERSION = "1.0.0"
SERVICE_PATH = "/router/api/service"

# -- envelope ----------------------------------------------------------------------------------------------
RESULT_OK, RESULT_FAILED, RESULT_PARTIAL = "1", "0", "2"
TOO_MANY_REQUESTS = "000017"  # confirmed: wait a minute
# Confirmed: the same ref_no is still being processed. Looked up; not found yet → CarrierUnavailable.
IN_PROGRESS_CODES = frozenset({"DS000007"})
# Unconfirmed: each entry of `errors[]` is read as {error_code, error_msg}; `msg` is used when absent.

# -- a duplicate create once the first one completed -------------------------------------------------------
# Unconfirmed: 4PX may refuse with some "already exists" code, or answer the first order again. We rely on
# neither: every create refusal other than 000017 is followed by ds.xms.order.get of our ref_no, and an
# order found under it is ours (returned, never created again). This also keeps us from matching message
# text. A found-but-cancelled order is not "ours to return": the refusal stands (a reissue number is due).
# The sandbox answers result "0" with DUPLICATE_COMPLETED_CODE by default (or, configured so, the first
# order's data again), and the adapter is tested against both.
DUPLICATE_COMPLETED_CODE = "DS000008"  # the sandbox's choice; the adapter does not act on it

# -- ds.xms.order.get --------------------------------------------------------------------------------------
# Unconfirmed: `data` is a list of orders (or one order object), each with ref_no, ds_consignment_no,
# 4px_tracking_no and consignment_status. "Not found" is result "1" with an empty list or no data: the only
# answer read as "4PX has none". A result "0" is "not knowing" (CarrierUnavailable) unless its code is in
# NOT_FOUND_CODES — kept empty until a real "not found" code is seen, because reading a failure as "not
# there" is what buys a second waybill.
NOT_FOUND_CODES: frozenset[str] = frozenset()
# Unconfirmed: consignment_status values. Only these mean "cancelled"; anything else is live. A wrong guess
# here leaves a cancelled order looking live (a person notices), never a live one looking cancelled (that
# would be reissued and charged again).
CANCELLED_STATUSES = frozenset({"X"})
STATUS_FORECAST, STATUS_RECEIVED = "P", "V"  # sandbox vocabulary; the adapter reads only CANCELLED_STATUSES

# -- freight -----------------------------------------------------------------------------------------------
# Unconfirmed: the create answer's documented fields hold no freight. None: Waybill.freight stays None and
# the service keeps the channel's estimate. Set the field names here once a real answer shows them.
FREIGHT_FIELD: str | None = None
FREIGHT_CURRENCY_FIELD: str | None = None

# -- create body -------------------------------------------------------------------------------------------
BUSINESS_TYPE = "BDS"
DUTY_TYPE = "U"  # DDU: the buyer pays duties (P: prepaid). An IOSS number covers EU VAT on its own.
BATTERY_YES, BATTERY_NO = "Y", "N"  # unconfirmed spelling of include_battery
DECLARE_UNIT = "PCS"  # unit_declare_product
CANCEL_REASON_MAX = 100  # unconfirmed length limit: longer reasons are cut

# -- ds.xms.label.get --------------------------------------------------------------------------------------
# Chosen: the label comes as a URL in data.label_url_info.logistics_label (unconfirmed field names),
# downloaded with the same httpx client; the bytes must start with %PDF. No base64 variant is read.
LABEL_FORMAT = "PDF"
LABEL_SIZE = "label_100x150"  # the house's 100 × 150 mm label
PRINT_DECLARATION_LIST = "N"
CREATE_PACKAGE_LABEL = "N"

# -- the tracking number that comes later ------------------------------------------------------------------
TRACKING_POLL_DELAYS_S = (0.5, 1.0, 2.0)  # our choice: 3 look-ups within ~3.5 s, then the service retries
