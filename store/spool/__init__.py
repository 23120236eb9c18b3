"""Nothing lost: a durable on-disk spool in front of any metric store.

One module per idea:

- :mod:`store.spool.records` — the record format (one written batch, checksummed);
- :mod:`store.spool.segments` — :class:`~store.spool.segments.Spool`, the durable
  FIFO of records in segment files, with its replay cursor;
- :mod:`store.spool.spooling` — :class:`~store.spool.spooling.SpoolingStore`, the
  metric store that writes through to its backend or spools, and replays;
- :mod:`store.spool.disk_guard` — a full or read-only disk, the free-space floor;
- :mod:`store.spool.rejected` — batches the backend refuses as data, kept aside.
"""
