"""Marketplace adapters, one module each."""

from parcelflow.domain.models import RejectedPlatformOrder

__all__ = ["RejectedPlatformOrder"]
