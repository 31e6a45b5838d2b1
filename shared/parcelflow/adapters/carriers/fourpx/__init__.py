"""4PX (递四方) carrier adapter: client (HTTP), build (bodies and answers), wire (answer models),
unconfirmed (every choice the reference leaves open)."""

from parcelflow.adapters.carriers.fourpx.client import FourPxClient

__all__ = ["FourPxClient"]
