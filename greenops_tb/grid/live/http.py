"""A small JSON-over-HTTP client for the live providers: timeouts, status codes and Retry-After as errors."""
from __future__ import annotations

import json
import math
import socket
import urllib.error
import urllib.request
from typing import Any, Mapping

from greenops_tb.errors import LiveError as LiveError

USER_AGENT = "greenops_tb (+https://github.com/greenops_tb)"
#: the most bytes of a response body read; the providers' answers are a few kB
MAX_BODY_BYTES = 1 << 20


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header; None when absent or not a finite number (an HTTP date, garbage).

    May be 0 or negative: the poller floors it at its refresh interval."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None  # an HTTP date or garbage; the caller's own back-off applies
    return seconds if seconds is not None and math.isfinite(seconds) else None


def get_json(url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 5.0) -> Any:
    """GET ``url`` and parse JSON, or raise :class:`LiveError` (timeout, HTTP status, malformed JSON, network)."""
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT,
                                               **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as e:
        retry = _retry_after(e.headers.get("Retry-After")) if e.headers else None
        raise LiveError(f"HTTP {e.code}", status=e.code, retry_after_s=retry) from None
    except (TimeoutError, socket.timeout):
        raise LiveError(f"timeout after {timeout_s:g}s") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, (TimeoutError, socket.timeout)):
            raise LiveError(f"timeout after {timeout_s:g}s") from None
        raise LiveError(f"network error: {e.reason}") from None
    except OSError as e:
        raise LiveError(f"network error: {e}") from None
    if len(body) > MAX_BODY_BYTES:
        raise LiveError(f"response larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LiveError("malformed JSON") from None
