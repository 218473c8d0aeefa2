"""Why a benchmark target is missed, from profiling: shown under the table when one is."""

from __future__ import annotations

from context import Row

# Why a target is missed, from profiling (see the closing note of issue 5); shown when it is.
CAUSES = {
    "push": "push misses: the bulk upload is wrapped in 8 sequential store round trips of "
    "bookkeeping (`.versions`, the listing and the source hashes together; the claim; the "
    "claim and `.meta` read back together; `.meta` written while the `.versions` lock is "
    "taken; `.versions` and the listing read; `.versions` written; the read-back with the "
    "lock; then the lock and the claim released together): ~0.3 s at 40 ms RTT. Conditional "
    "writes of `.versions` (generation/ETag match) instead of a lock object would remove 3, "
    "but the GCS emulator ignores those preconditions. Locally each object is copied "
    "create-only through a temp file and a link after a sha256 scan of the sources, against "
    "fsspec's plain copy loop.",
    "cold fetch 1 file": "big-file misses: the sha256 sets the pace. From a directory store a "
    "thread hashes the very buffers the copy writes, so a verified copy cannot beat the sha256 "
    "alone (shown in the row: 0.9-1.9 GB/s on this VM, depending on the day) while get_file "
    "only copies (1.6-2.5 GB/s): ours is within ~10 % of the sha256 alone. From a server the "
    "hash follows the bytes as they land, sharing the 2 cores with the server and the proxy.",
    "8 processes": "many-process misses: 8 processes woken at once on 2 cores wait for CPU "
    "before they start; with few objects this fixed cost dominates.",
    "cold fetch": "cold-fetch misses: per-object bookkeeping (parent folders, sha256, read-only "
    "bits, the record) on top of the copies.",
}


CAPPED_CAUSE = (
    "capped-link misses (profiled at 256 MB): the link's limit is 12 ranged GETs alone, while "
    "ours shares the 2 cores with moto (~0.2 s of CPU per ranged GET of a 256 MB object) and "
    "the proxy, and one run differs from the next by up to 15 % (hence `--link-runs`). A push "
    "sends its first part only after the source's sha256 and the claim (~0.7 s at 256 MB: the "
    "hash, then 4 round trips), its parts start ~30 ms apart (botocore signs each 8 MB payload "
    "on the event loop over plain http; not over https), and moto takes ~1.6 s to complete a "
    "256 MB multipart upload (boto3 waits for it too)."
)


def causes(rows: list[Row]) -> list[str]:
    """The explanation of each kind of missed target, once ("cold fetch 1 file" before
    "cold fetch": the first matching prefix wins)."""
    found: list[str] = []
    for row in rows:
        cause = next((text for key, text in CAUSES.items() if row.scenario.startswith(key)), None)
        if row.store.endswith("+cap"):
            cause = CAPPED_CAUSE
        if row.met is False and cause is not None and cause not in found:
            found.append(cause)
    return found
