"""Named random streams (no torch here: the site stage carries them to live mode, the precompute seeds
its generators with them)."""

from __future__ import annotations

import hashlib


def stream_seed(stream: str, seed: int) -> int:
    """The seed of a named random stream, independent of every plain `manual_seed(seed)` stream.

    sha256("<stream>:<seed>"), first 4 bytes: CPU generators keep 32 bits of a seed (so
    `manual_seed(s + 2**32)` would repeat `manual_seed(s)`). Used where one experiment needs noise
    that must not coincide with the start noise of any seed, e.g. the forward noise of
    forward_backward, which would otherwise equal the noise its own source image was generated from.
    """
    return int.from_bytes(hashlib.sha256(f"{stream}:{int(seed)}".encode()).digest()[:4], "big")
