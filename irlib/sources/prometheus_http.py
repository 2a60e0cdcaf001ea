"""HTTP transport of the Prometheus source, on prometheus-api-client's :class:`PrometheusConnect` session.

Credentials are read from the environment at every request and never stored.  Reads are retried with backoff on
429 and 5xx; every request has a timeout.  Prometheus's answers become bytes (for the fast range parser) or
decoded JSON, and failures become :class:`~irlib.errors.QueryError` (the query was rejected, with Prometheus's own
message) or :class:`~irlib.errors.SourceUnavailable` (down, forbidden, slow, malformed).
"""
from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from ..errors import QueryError, SourceUnavailable

SOURCE = "prometheus"
RETRY_STATUS = (429, 500, 502, 503, 504)
CONNECT_TIMEOUT_S = 5.0


class PrometheusHttp:
    """GET requests to one Prometheus server, configured from ``sources.prometheus``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        url = str(config.get("url") or "").rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SourceUnavailable(SOURCE, f"sources.prometheus.url must be an http(s) URL, got {url!r}")
        self.url = url
        self.timeout_s = float(config.get("timeout_s", 30.0))
        self.retries = int(config.get("retries", 2))
        self._token_env = config.get("token_env")
        self._username = config.get("username")
        self._password_env = config.get("password_env")
        self._headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        self.config_headers_env = dict(config.get("headers_env") or {})
        if _is_loopback(url) and not any(k.lower() == "accept-encoding" for k in self._headers):
            # Compressing tens of MB costs seconds of CPU on both ends and saves nothing on loopback.
            self._headers["Accept-Encoding"] = "identity"
        session = requests.Session()
        session.verify = config.get("ca_bundle") or bool(config.get("verify_tls", True))
        retry = Retry(total=self.retries, connect=self.retries, read=0, status=self.retries, backoff_factor=0.5,
                      backoff_max=10, status_forcelist=RETRY_STATUS, allowed_methods=frozenset({"GET"}),
                      raise_on_status=False)
        self.connection = PrometheusConnect(url=url, headers=self._headers, retry=retry, session=session,
                                            timeout=self.timeout_s)  # type: ignore[arg-type]
        self._session = session

    def close(self) -> None:
        self.connection.close()

    def get_bytes(self, path: str, params: Mapping[str, str], *, query: str) -> bytes:
        """The body of a successful GET (HTTP 200); errors raised as described in the module docstring."""
        try:
            response = self._session.get(self.url + path, params=dict(params), headers=self._request_headers(),
                                         auth=self._auth(), timeout=(CONNECT_TIMEOUT_S, self.timeout_s))
        except requests.exceptions.RetryError as exc:
            raise SourceUnavailable(SOURCE, f"{self.url} kept failing after {self.retries} retries: {exc}",
                                    query=query) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            if isinstance(exc, requests.ConnectionError) and not _read_timed_out(exc):
                raise SourceUnavailable(SOURCE, f"cannot reach {self.url}: {type(exc).__name__}: {exc}",
                                        query=query) from exc
            raise SourceUnavailable(SOURCE, f"no answer from {self.url} within {self.timeout_s:g} s; raise "
                                    "sources.prometheus.timeout_s or narrow the window", query=query) from exc
        except requests.RequestException as exc:
            raise SourceUnavailable(SOURCE, f"cannot reach {self.url}: {type(exc).__name__}: {exc}",
                                    query=query) from exc
        if response.status_code == 200:
            return response.content
        raise self._failure(response, query)

    def get_data(self, path: str, params: Mapping[str, str], *, query: str) -> Any:
        """The decoded ``data`` member of a successful JSON answer."""
        body = self.get_bytes(path, params, query=query)
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise SourceUnavailable(SOURCE, f"{self.url}{path} answered with a body that is not JSON: "
                                    f"{body[:120]!r}", query=query) from exc
        if not isinstance(decoded, dict) or decoded.get("status") != "success" or "data" not in decoded:
            raise SourceUnavailable(SOURCE, f"{self.url}{path} answered without status success and data: "
                                    f"{body[:200]!r}", query=query)
        return decoded["data"]

    def _request_headers(self) -> dict[str, str]:
        headers = dict(self._headers)
        for name, env in (self.config_headers_env or {}).items():  # secret headers, read at request time
            headers[str(name)] = _secret(str(env), f"headers_env.{name}")
        if self._token_env:
            headers["Authorization"] = f"Bearer {_secret(self._token_env, 'token_env')}"
        return headers

    def _auth(self) -> tuple[str, str] | None:
        if not self._username:
            return None
        password = _secret(self._password_env, "password_env") if self._password_env else ""
        return (str(self._username), password)

    def _failure(self, response: requests.Response, query: str) -> Exception:
        status = response.status_code
        error = _error_body(response)
        if status in (400, 422) and error is not None:
            return QueryError(SOURCE, query, f"{error[0]}: {error[1]}")
        if status in (401, 403):
            return SourceUnavailable(SOURCE, f"HTTP {status} from {self.url}: credentials refused; check "
                                     "sources.prometheus.token_env / username / password_env and their "
                                     "environment variables", query=query)
        detail = f"{error[0]}: {error[1]}" if error else response.text[:200]
        retried = f" after {self.retries} retries" if status in RETRY_STATUS else ""
        return SourceUnavailable(SOURCE, f"HTTP {status} from {self.url}{retried}: {detail}", query=query)


def _error_body(response: requests.Response) -> tuple[str, str] | None:
    """``(errorType, error)`` of a Prometheus error answer, or ``None`` when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("status") == "error":
        return str(body.get("errorType", "error")), str(body.get("error", ""))
    return None


def _read_timed_out(exc: requests.ConnectionError) -> bool:
    """Whether a connection error is urllib3 giving up after a read timeout (requests reports it that way)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ReadTimeoutError)


def _is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secret(env_name: str, key: str) -> str:
    value = os.environ.get(env_name)
    if not value:
        raise SourceUnavailable(SOURCE, f"environment variable {env_name} (named by sources.prometheus.{key}) "
                                "is not set; export it before the run")
    return value
