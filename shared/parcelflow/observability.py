"""The logger, in one neutral module, so that no layer imports the handler layer for it."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="parcelflow")
