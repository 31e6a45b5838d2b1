"""Unit tests run without a network: every socket is refused (pytest-socket), here and only here."""

import pytest
from pytest_socket import disable_socket


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A conftest hook sees only the items under its own directory; pytest-socket's teardown hook lifts the
    # block after each test, so contract, integration and e2e tests keep their loopback.
    disable_socket(allow_unix_socket=False)
