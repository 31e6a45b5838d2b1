"""Every YunExpress open-API detail that no two public sources agree on: correct it here, and only here.

The reference (`shared/reference/README.md`, YunExpress) confirms the paths, the token request, the
headers, the sign string's shape and the create fields. What follows is our choice where it does not;
the sandbox (`infra/local/sandboxes/yunexpress.py`) keeps its own copy of the same choices, so a change
here must be made there too (it then shows as a failing contract test, not as a charge).
"""

from __future__ import annotations

from typing import Any

# -- the answer envelope ------------------------------------------------------------------------------------
# Every answer is read as {success, code, msg, request_id, result}. The code of a success.
SUCCESS_CODE = "0"

# -- business codes we act on (anything else with success=false is the carrier refusing) ---------------------
# "customer order number already used" on create: the earlier create went through, look it up.
DUPLICATE_ORDER_CODES = frozenset({"ORDER_EXISTS"})
# The carrier has no order under the number asked (info/get, cancel, label/get).
NOT_FOUND_CODES = frozenset({"NOT_FOUND"})
# cancel: the order is cancelled already (counts as done). label/get: no label for a cancelled order.
ALREADY_CANCELLED_CODES = frozenset({"ORDER_CANCELLED"})
# cancel: the warehouse has received the parcel; the order stays live.
CANCEL_REFUSED_CODES = frozenset({"ORDER_RECEIVED"})
# The carrier says "busy, try again" inside a well-formed answer: nothing was done.
TRANSIENT_CODES = frozenset({"SYSTEM_ERROR", "RATE_LIMITED"})

# -- order status (info/get `status`, cancel's answer) ------------------------------------------------------
# As a public client of the open API reads them: S forecast (已预报), T processed, R received, D out of
# stock, F returned, Q cancelled (已取消), C deleted (已删除), P compensated, V signed for. A deleted order
# is no more live than a cancelled one.
CANCELLED_STATUSES = frozenset({"Q", "C"})

# -- the token answer ---------------------------------------------------------------------------------------
# {accessToken, expiresIn (seconds)}: the request is camelCase, we take the answer to be too. A public
# client reads `accessToken` at the top of the answer, without an envelope; we read it there or in
# `result`, and without a lifetime take TOKEN_DEFAULT_LIFETIME_S (short: a token renewed early costs
# one call, one taken for longer than it lives costs a refused call and a retry).
TOKEN_FIELD = "accessToken"  # noqa: S105 - a field name
TOKEN_LIFETIME_FIELD = "expiresIn"  # noqa: S105 - a field name
TOKEN_DEFAULT_LIFETIME_S = 30 * 60

# -- the freight in create's (and info/get's) result --------------------------------------------------------
FEE_AMOUNT_FIELD = "fee"
FEE_CURRENCY_FIELD = "fee_currency"
FEE_DEFAULT_CURRENCY = "CNY"  # an amount without a currency: the account is billed in yuan

# -- the customs declaration --------------------------------------------------------------------------------
# Country of origin of each declaration line: the reference names no field for it, and a field the API
# does not know may be refused, so none is sent (None); name it here once it is confirmed.
ORIGIN_FIELD: str | None = None
IOSS_EXTRA_SERVICE = "V1"  # confirmed: extra_services[{extra_code: "V1"}] goes with an IOSS number


def ioss_fields(ioss_number: str) -> dict[str, Any]:
    """The IOSS number in create's body. One source sends a string `customs_number`, the other an object
    `{ioss_code}`; we send the string. The other would be `{"customs_number": {"ioss_code": number}}`."""
    return {"customs_number": ioss_number}


# -- signing ------------------------------------------------------------------------------------------------
# Whether `uri=` in the sign string carries the query string ("/v1/order/info/get?order_number=X") or
# only the path. The reference writes `uri=<path>`, and a public client signs its GETs over the path
# alone: so do we (True: with the query, exactly as sent).
SIGN_QUERY_IN_URI = False
