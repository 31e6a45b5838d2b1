"""YunExpress (云途) open API: pre-advise a package (charges prepaid freight), look it up, cancel it, get
its label. Laid out as karrio lays out a carrier:

- `client.py`: HTTP only: the access token and its cache, the signed headers, the calls, answers → errors;
- `build.py`: pure functions: create's body from a WaybillRequest, the sign string, answers into Waybills;
- `wire.py`: pydantic models of the carrier's answers;
- `unconfirmed.py`: every detail no two public sources agree on (codes, IOSS shape, fee field, whether the
  query string is signed), in one place to correct.
"""

from parcelflow.adapters.carriers.yunexpress.client import YunExpressClient

__all__ = ["YunExpressClient"]
