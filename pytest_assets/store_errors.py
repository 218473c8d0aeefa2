"""What the store's failures mean, said once: every call into fsspec goes through
:meth:`StoreErrors.call`, which turns the zoo of backend exceptions (aiohttp, botocore, gcsfs'
HttpError, OSError) into our :class:`StoreError` with the store's URL, the cause and the next
step, credentials scrubbed. ``FileNotFoundError`` and ``FileExistsError`` pass through: callers
give them meaning (a missing version, a taken one). A store that does not answer is left alone
for a while instead of being asked again by every test or cell.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import AssetsError, StoreError
from .redact import redact_url

T = TypeVar("T")

_FORBIDDEN_WORDS = ("Forbidden", "Unauthorized", "Access Denied", "AccessDenied")
_LOCAL_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# A store that did not answer is not asked again for this long: the backends' own retries
# already took seconds (gcsfs: ~33 s), and every test or cell after it would wait as long.
UNREACHABLE_FOR = 60.0
_CONNECTION_FAILURES = {
    "ClientConnectorError",  # aiohttp (gcsfs): refused, unresolvable, TLS failed
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "EndpointConnectionError",  # botocore (s3fs)
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ServiceRequestError",  # azure-core (adlfs): the request never reached the account
}


class StoreErrors:
    """The error translation of one store, and its memory of not being reachable."""

    def __init__(self, display_url: str, secrets: list[str], offline_hint: str) -> None:
        self.display_url = display_url
        self._next_step = (  # the face's own spelling of offline mode
            f"check the URL and the network, or work from the cache with offline mode "
            f"({offline_hint})"
        )
        self._secrets = secrets  # longest first, so a secret's pieces are scrubbed after it
        self._unreachable: tuple[float, str] | None = None  # (when, why), for UNREACHABLE_FOR

    def scrub(self, text: str) -> str:
        """One line, no credentials: what goes into our error messages."""
        text = " ".join(redact_url(text).split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.refuse_if_unreachable(what)
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, FileExistsError, AssetsError):
            raise
        except OSError as exc:
            if exc.errno in _LOCAL_DISK_ERRNOS:
                raise  # our disk, not the store: the caller names the cache directory
            raise self.wrap(what, exc) from None
        except Exception as exc:
            raise self.wrap(what, exc) from None

    def wrap(self, what: str, exc: Exception) -> Exception:
        if isinstance(exc, PermissionError) or _looks_like_forbidden(exc):
            return StoreError(
                f"store {self.display_url} refused access while {what}: "
                f"{self.scrub(_summary(exc)) or type(exc).__name__}; check the credentials and "
                "permissions for this bucket"
            )
        if _looks_like_not_found(exc) or isinstance(exc, NotADirectoryError):
            return FileNotFoundError(str(exc))  # a file where a folder would be: nothing there
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:  # not the network
            return StoreError(
                f"store {self.display_url} refused a name while {what} as too long "
                f"({self.scrub(str(exc))[:200]}); use a shorter asset name"
            )
        cause = f"{type(exc).__name__}: {self.scrub(_summary(exc))[:300]}"
        if _has_no_credentials(exc):
            return StoreError(
                f"store {self.display_url} found no credentials while {what} ({cause}); "
                f"{_credentials_hint(self.display_url)}"
            )
        if _is_connection_failure(exc):
            self._unreachable = (time.monotonic(), f"while {what}: {cause}")
            return StoreError(
                f"could not reach store {self.display_url} while {what}: {cause}; {self._next_step}"
            )
        return StoreError(  # it answered, with something we cannot use: say what it was
            f"store {self.display_url} failed while {what}: {cause}; {self._next_step}"
        )

    def refuse_if_unreachable(self, what: str) -> None:
        if self._unreachable is None:
            return
        when, why = self._unreachable
        ago = time.monotonic() - when
        if ago >= UNREACHABLE_FOR:
            return
        raise StoreError(
            f"could not reach store {self.display_url} {ago:.0f} s ago ({why}); {what} was not "
            f"tried, as the store is left alone for another {UNREACHABLE_FOR - ago:.0f} s; "
            f"{self._next_step}"
        )


class NoTraceback(logging.Filter):
    """gcsfs' log without tracebacks, and without the lines our own error says again."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        message = record.getMessage()
        return not any(said in message for said in _SAID_AGAIN)


# gcsfs' records of a failure that reaches us, which our one line then names
_SAID_AGAIN = ("out of retries on exception", "non-retriable exception", "Could not determine")


# The package behind each protocol fsspec does not bring itself (gcsfs is a dependency).
_BACKENDS = {
    "s3": "'pytest-assets[s3]' (s3fs)",
    "s3a": "'pytest-assets[s3]' (s3fs)",
    "az": "'pytest-assets[az]' (adlfs)",
    "abfs": "'pytest-assets[az]' (adlfs)",
    "abfss": "'pytest-assets[az]' (adlfs)",
    "adl": "adlfs",
    "sftp": "paramiko (fsspec's sftp backend) or sshfs",
    "ssh": "paramiko (fsspec's sftp backend) or sshfs",
    "oss": "ossfs",
    "hf": "huggingface_hub",
}


def install_hint(url: str) -> str:
    """What to install for ``url``'s backend, named for its protocol."""
    protocol = url.split("://", 1)[0].split("::")[-1].lower() if "://" in url else ""
    package = _BACKENDS.get(protocol)
    if package is None:
        return f"install the fsspec backend for {protocol or 'this'}:// stores"
    return f"install it: pip install {package}"


_NO_CREDENTIALS = {
    "NoCredentialsError",  # botocore: nothing in the environment, ~/.aws or the metadata
    "PartialCredentialsError",
    "DefaultCredentialsError",  # google.auth
}


def _has_no_credentials(exc: BaseException) -> bool:
    return any(cls.__name__ in _NO_CREDENTIALS for cls in type(exc).__mro__)


def _credentials_hint(url: str) -> str:
    if url.startswith(("s3://", "s3a://")):
        return (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, ~/.aws/credentials), "
            "or the storage options key= and secret=; anon=true for a public bucket"
        )
    if url.startswith(("gs://", "gcs://")):
        return (
            "run gcloud auth application-default login or set GOOGLE_APPLICATION_CREDENTIALS, "
            "or the storage option token=; token=anon for a public bucket"
        )
    return "set the store's credentials (environment, or storage options)"


def _is_connection_failure(exc: BaseException) -> bool:
    """The store did not answer at all (as opposed to answering something we cannot use)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError) or any(
            cls.__name__ in _CONNECTION_FAILURES for cls in type(current).__mro__
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _status(exc: Exception) -> object:
    """The HTTP status under the names backends give it (azure-core: ``status_code``)."""
    for name in ("code", "status", "status_code"):
        value = getattr(exc, name, None)
        if value:
            return value
    return None


def _summary(exc: Exception) -> str:
    """The exception's text; for Azure's errors their code and first line, not the request id,
    the time and the XML body that follow."""
    error_code = getattr(exc, "error_code", None)
    if error_code and getattr(exc, "status_code", None):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        code = getattr(error_code, "value", error_code)  # the SDK's StorageErrorCode enum
        return f"{code} (HTTP {exc.status_code}): {first}"  # type: ignore[attr-defined]
    return str(exc)


def _looks_like_not_found(exc: Exception) -> bool:
    return _status(exc) == 404


def _looks_like_forbidden(exc: Exception) -> bool:
    """401/403 under the names backends give them (gcsfs raises a bare "Forbidden" OSError)."""
    code = _status(exc)
    text = str(exc)
    return code in (401, 403) or text.startswith(_FORBIDDEN_WORDS) or "AccessDenied" in text
