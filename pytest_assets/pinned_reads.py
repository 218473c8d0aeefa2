"""One ranged GET of an object pinned to its version, read as a stream (s3fs and gcsfs).

S3 sends ``If-Match`` with the ETag and answers 412 once the object was replaced; GCS reads
the object by generation and answers 404 once that generation is gone. Either way the read
fails rather than mixing two objects' bytes. The body is read in chunks, so a range of any
size costs a chunk of memory, and a reader may stop early (the connection is then dropped).
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from .errors import IntegrityError
from .store import ObjectVersion, Store

S3 = {"s3", "s3a"}
GCS = {"gs", "gcs"}


class Body(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


@asynccontextmanager
async def pinned_range(
    store: Store, remote: str, version: ObjectVersion, start: int, end: int, what: str
) -> AsyncIterator[Body]:
    """The body of bytes ``start`` to ``end`` (exclusive, ``end > start``) of ``remote`` as it
    was at ``version``; a replaced or deleted object is an :class:`IntegrityError`."""
    fs = store.fs
    header = f"bytes={start}-{end - 1}"
    try:
        if store.protocols & S3:
            bucket, key, _ = fs.split_path(remote)
            resp = await fs._call_s3(
                "get_object", Bucket=bucket, Key=key, Range=header, IfMatch=version.token
            )
            body = resp["Body"]
            try:
                yield body
            finally:
                body.close()
            return
        from gcsfs.retry import validate_response

        url = fs.url(remote, generation=version.token)
        await fs._set_session()
        async with fs.session.get(
            url=url, headers=fs._get_headers({"Range": header}), timeout=fs.requests_timeout
        ) as response:
            if response.status >= 400:
                validate_response(response.status, await response.read(), url)
            yield response.content
    except (FileNotFoundError, OSError) as exc:
        if isinstance(exc, FileNotFoundError) or precondition_failed(exc):
            raise IntegrityError(
                f"{what}: the object was replaced or deleted in the store "
                f"{store.display_url} during the download (it no longer has the version "
                f"{version.token}); nothing was cached, fetch again"
            ) from None
        raise


def precondition_failed(exc: BaseException) -> bool:
    """S3's 412 for an ETag that no longer matches, as s3fs translates it (EINVAL), or raw."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response: Any = getattr(current, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if error.get("Code") in ("PreconditionFailed", "412") or status == 412:
                return True
        if getattr(current, "status", None) == 412 or getattr(current, "code", None) == 412:
            return True
        text = str(current).lower()
        if isinstance(current, OSError) and current.errno == errno.EINVAL and "condition" in text:
            return True
        current = current.__cause__ or current.__context__
    return False
