"""Login with Amazon: a store's refresh token exchanged for the access token SP-API calls carry.

The store's secret holds `refresh_token`, `client_id`, `client_secret` and optionally `lwa_endpoint`.
An access token lives about an hour; it is kept in a module-level cache, so a warm Lambda reuses it across
invocations, until shortly before it expires. The cache key is the endpoint, the client id and a hash of
the refresh token: two stores of one app do not share a token, and no secret is held as a key or logged.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from parcelflow.adapters.marketplaces.amazon_models import LwaErrorAnswer, LwaTokenAnswer
from parcelflow.domain.errors import CredentialsRejected, MarketplaceUnavailable
from parcelflow.observability import logger

DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"
REFRESH_MARGIN_S = 60.0  # a token this close to its expiry is not used for a new call
REQUIRED_FIELDS = ("refresh_token", "client_id", "client_secret")
TRANSIENT_RETRIES = 2  # after a 5xx or a network error, before giving up with MarketplaceUnavailable
TRANSIENT_BASE_PAUSE_S = 0.25

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class LwaCredentials:
    refresh_token: str
    client_id: str
    client_secret: str
    endpoint: str = DEFAULT_LWA_ENDPOINT

    @classmethod
    def from_secret(cls, store_id: str, secret: Mapping[str, object]) -> LwaCredentials:
        """Raises CredentialsRejected naming the first field the secret lacks."""
        values: dict[str, str] = {}
        for field in REQUIRED_FIELDS:
            value = secret.get(field)
            if not isinstance(value, str) or not value.strip():
                raise CredentialsRejected(store_id, f"the store's secret has no {field}")
            values[field] = value.strip()
        endpoint = secret.get("lwa_endpoint")
        if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.strip()):
            raise CredentialsRejected(store_id, "the store's secret has an empty lwa_endpoint")
        return cls(**values, endpoint=endpoint.strip() if isinstance(endpoint, str) else DEFAULT_LWA_ENDPOINT)

    @property
    def cache_key(self) -> tuple[str, str, str]:
        digest = hashlib.sha256(self.refresh_token.encode()).hexdigest()
        return (self.endpoint, self.client_id, digest)


@dataclass(frozen=True)
class _CachedToken:
    value: str
    expires_at: float  # on the clock of the source that fetched it
    margin_s: float

    def usable(self, now: float) -> bool:
        return now < self.expires_at - self.margin_s


_cache: dict[tuple[str, str, str], _CachedToken] = {}
_refresh_locks: dict[tuple[str, str, str], threading.Lock] = {}
_cache_lock = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (for tests; a new process starts empty anyway)."""
    with _cache_lock:
        _cache.clear()
        _refresh_locks.clear()


class LwaTokenSource:
    """Access tokens for one store: cached, refreshed before expiry, dropped when SP-API refuses one."""

    def __init__(
        self,
        store_id: str,
        secret: Mapping[str, object],
        http: httpx.Client,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store_id = store_id
        self._secret = secret
        self._credentials: LwaCredentials | None = None
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter

    def token(self) -> str:
        """A usable access token: the cached one, or a fresh one from LWA."""
        credentials = self._parsed()
        key = credentials.cache_key
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self._lock_for(key):  # one refresh per key at a time; the others take its result
            cached = self._cached(key)
            if cached is not None:
                return cached
            fresh = self._refresh(credentials)
            with _cache_lock:
                _cache[key] = fresh
            return fresh.value

    def invalidate(self, token: str) -> None:
        """SP-API refused `token`: forget it, unless another call has already replaced it."""
        key = self._parsed().cache_key
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None and cached.value == token:
                del _cache[key]

    def _parsed(self) -> LwaCredentials:
        if self._credentials is None:
            self._credentials = LwaCredentials.from_secret(self._store_id, self._secret)
        return self._credentials

    def _cached(self, key: tuple[str, str, str]) -> str | None:
        with _cache_lock:
            cached = _cache.get(key)
        return cached.value if cached is not None and cached.usable(self._clock()) else None

    @staticmethod
    def _lock_for(key: tuple[str, str, str]) -> threading.Lock:
        with _cache_lock:
            return _refresh_locks.setdefault(key, threading.Lock())

    def _refresh(self, credentials: LwaCredentials) -> _CachedToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        attempt = 0
        while True:
            attempt += 1
            asked_at = self._clock()
            try:
                response = self._http.post(
                    credentials.endpoint, data=form, headers={"Accept": "application/json"}
                )
            except httpx.HTTPError as exc:
                problem = f"LWA token endpoint: {type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return self._accepted(response, asked_at, credentials)
                if response.status_code < 500 and response.status_code != 429:
                    raise CredentialsRejected(self._store_id, _lwa_error_text(response))
                problem = f"LWA token endpoint: HTTP {response.status_code}"
            if attempt > TRANSIENT_RETRIES:
                raise MarketplaceUnavailable(f"store {self._store_id}: {problem}")
            self._sleep(TRANSIENT_BASE_PAUSE_S * 2 ** (attempt - 1) * self._jitter())

    def _accepted(
        self, response: httpx.Response, asked_at: float, credentials: LwaCredentials
    ) -> _CachedToken:
        try:
            answer = LwaTokenAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            raise MarketplaceUnavailable(
                f"store {self._store_id}: LWA token answer without a usable access_token"
            ) from exc
        logger.info(
            "lwa access token refreshed",
            extra={
                "store_id": self._store_id,
                "lwa_endpoint": credentials.endpoint,
                "expires_in": answer.expires_in,
            },
        )
        # Counted from when we asked, not when the answer came: the token may be older than it looks.
        return _CachedToken(
            value=answer.access_token,
            expires_at=asked_at + answer.expires_in,
            margin_s=min(REFRESH_MARGIN_S, answer.expires_in / 2),
        )


def _lwa_error_text(response: httpx.Response) -> str:
    """LWA's error_description (with the error code), or the status when the body says nothing usable."""
    try:
        error = LwaErrorAnswer.model_validate_json(response.content)
    except ValidationError:
        return f"LWA token endpoint answered HTTP {response.status_code}"
    if error.error_description:
        return f"{error.error_description} ({error.error})"
    return f"LWA refused the refresh token: {error.error}"
