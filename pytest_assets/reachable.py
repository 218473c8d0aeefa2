"""Whether a GCS store's endpoint answers at all, asked once before its backend is built.

Where nothing answers (no network, a stopped emulator, a wrong host), gcsfs first looks for
credentials (the metadata server) and then retries every request six times with backoff: about
50 s, and a log line per step, before our one line. One TCP connection with a short timeout
says the same in a moment; a store that answers it pays one round trip, once per process.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

GCS_ENDPOINT = "https://storage.googleapis.com"
# Connecting is one round trip; 5 s leaves room for two lost SYNs on a slow link.
CONNECT_TIMEOUT = 5.0


def gcs_endpoint(url: str, options: Mapping[str, Any]) -> str | None:
    """The endpoint gcsfs would use for ``url`` (None: not a GCS store)."""
    if not url.startswith(("gs://", "gcs://")):
        return None
    endpoint = options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
    return str(endpoint) if endpoint else GCS_ENDPOINT


def probe(endpoint: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Open and close one connection to ``endpoint``; ConnectionError or TimeoutError when
    nothing answers (what the store's error translation calls "could not reach")."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve host {host}: {exc.strerror or exc}") from None
    except TimeoutError:
        raise TimeoutError(f"no answer from {host}:{port} within {timeout:.0f} s") from None
    except OSError as exc:
        raise ConnectionError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
