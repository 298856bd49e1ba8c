"""Opt-in cloud detection through the provider's instance-metadata endpoint (never IP geolocation).

Tried in order with a short timeout each: AWS IMDSv2, GCP, Azure. The base URL is overridable
(``detect_cloud="http://127.0.0.1:8000"`` or ``GREENOPS_METADATA_URL``) so tests can serve the answers.
"""
from __future__ import annotations

import urllib.error
import urllib.request

AWS_BASE = "http://169.254.169.254"
GCP_BASE = "http://metadata.google.internal"
AZURE_BASE = "http://169.254.169.254"
TIMEOUT_S = 0.3


def _get(url: str, headers: dict[str, str], timeout: float, method: str = "GET") -> str | None:
    req = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read(4096).decode("utf-8", "replace").strip()
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _aws(base: str, timeout: float) -> str | None:
    token = _get(f"{base}/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, timeout, "PUT")
    if not token:
        return None
    region = _get(f"{base}/latest/meta-data/placement/region", {"X-aws-ec2-metadata-token": token}, timeout)
    return f"aws:{region}" if region else None


def _gcp(base: str, timeout: float) -> str | None:
    zone = _get(f"{base}/computeMetadata/v1/instance/zone", {"Metadata-Flavor": "Google"}, timeout)
    if not zone:
        return None  # "projects/123/zones/europe-west4-a" -> europe-west4
    return "gcp:" + zone.rsplit("/", 1)[-1].rsplit("-", 1)[0]


def _azure(base: str, timeout: float) -> str | None:
    loc = _get(f"{base}/metadata/instance/compute/location?api-version=2021-02-01&format=text",
               {"Metadata": "true"}, timeout)
    return f"azure:{loc.lower()}" if loc else None


def detect_cloud_region(base_url: str | None = None, timeout_s: float = TIMEOUT_S) -> str | None:
    """``provider:region`` of the machine we run on, or None when no metadata endpoint answers."""
    probes = ((_aws, base_url or AWS_BASE), (_gcp, base_url or GCP_BASE), (_azure, base_url or AZURE_BASE))
    for probe, base in probes:
        found = probe(base.rstrip("/"), timeout_s)
        if found:
            return found
    return None
