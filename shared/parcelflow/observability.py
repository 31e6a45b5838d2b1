"""Logger and metrics in one neutral module, so that no layer imports the handler layer for them."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="parcelflow")
metrics = Metrics(namespace="Parcelflow", service="parcelflow")
