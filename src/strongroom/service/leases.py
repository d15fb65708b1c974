"""Leases: one node of a deployment runs each cluster-wide background job.

The purger (expired deletion windows, sessions, KMS key deletions and rotations) runs on
whichever node holds the ``purger`` lease; the holder renews it at every round, and when
it dies another node takes over once the lease has expired. (Due secret rotations need no
lease: each is claimed row by row, see RotationService.run_due.)
"""

from __future__ import annotations

import uuid

from strongroom.clock import Clock
from strongroom.storage.base import Storage

__all__ = ["Lease"]


class Lease:
    """A named lease this process tries to hold for ``ttl`` seconds at a time."""

    def __init__(self, storage: Storage, clock: Clock, name: str, ttl: float) -> None:
        self._storage = storage
        self._clock = clock
        self.name = name
        self.ttl = ttl
        self.holder = f"{uuid.uuid4()}"

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it."""
        now = self._clock.now()
        with self._storage.write() as tx:
            return tx.take_lease(self.name, self.holder, now, now + self.ttl)
