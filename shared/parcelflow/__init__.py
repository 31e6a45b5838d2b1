"""Parcelflow: order-to-shipment pipeline for cross-border sellers."""
