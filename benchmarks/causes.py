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
    "cold fetch 1 file": "big-file misses: the sha256 check (256 MB at ~1.9 GB/s is ~135 ms of "
    "CPU). From a server it runs in a thread while the bytes stream in, but the 2 cores are "
    "shared with the server, the proxy and the event loop, so it trails the download; from a "
    "directory store the kernel's copy (~2.5 GB/s) runs alongside the hash, but sha256 "
    "itself (~1.7 GB/s) then sets the pace: ~60 % at best.",
    "8 processes": "many-process misses: 8 processes woken at once on 2 cores wait for CPU "
    "before they start; with few objects this fixed cost dominates.",
    "cold fetch": "cold-fetch misses: per-object bookkeeping (parent folders, sha256, read-only "
    "bits, the record) on top of the copies.",
}


CAPPED_CAUSE = (
    "capped-link misses: `Store.download_options` fetches each object as one streamed request, "
    "so one big file moves at one connection's cap; a push uploads it as sequential parts. "
    "Ranged parallel fetch and parallel parts (issue 11) are what would close it."
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
