"""Scale-out polling on NATS JetStream: partitions, leases, slot-aligned cycles, result streams.

Why: one poller process cannot watch the whole country, and a poller that
dies must not leave devices unwatched. Devices are sharded into partitions
(by commune, so a commune's access router and the devices behind it stay
together); pollers take partitions through leases in a JetStream key-value
bucket with a TTL, so a dead poller's partitions are taken over within one
lease TTL. Every partition's poll cycle is aligned on wall-clock slots
(``slot = floor(t / interval)``), so whoever owns a partition polls the same
slot, and each cycle's results go to a JetStream stream with the message id
``partition:plan:slot:chunk``: JetStream drops the copy a takeover or a replay
publishes twice. The central ingest (``poller/cluster/ingest.py``) consumes the stream
with explicit acks, writes samples (same series + timestamp overwrites) and
feeds the alerting core. Edge command posts (``edge.py``) poll locally into a
JetStream stream on their own leaf node, which the hub's stream sources when
the WAN is up.
"""
