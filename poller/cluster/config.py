"""Names and timings shared by pollers, edge posts and the ingest."""

from __future__ import annotations

from dataclasses import dataclass, field

STREAM = "TRUCBAN_RESULTS"
SUBJECT_PREFIX = "trucban.results"
LEASES = "trucban_leases"
MEMBERS = "trucban_pollers"
CONSUMER = "trucban-ingest"


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster lives and how it shares work.

    ``lease_ttl_s`` must stay well under the shortest poll interval (a dead
    poller's partitions are free after it; the new owner then polls the slot
    in progress): pollers renew every ``lease_ttl_s / 3``. ``duplicate_window_s``
    is how long JetStream remembers message ids (at least two intervals).
    """

    url: str = "nats://127.0.0.1:4222"
    partitions: int = 64
    lease_ttl_s: float = 10.0
    duplicate_window_s: float = 900.0
    stream: str = STREAM
    subject_prefix: str = SUBJECT_PREFIX
    leases: str = LEASES
    members: str = MEMBERS
    consumer: str = CONSUMER
    edges: tuple[str, ...] = field(default_factory=tuple)  # edge posts whose streams the hub sources
    max_stream_mb: int = 1024  # hub stream bound (results are also in the metric store)

    def __post_init__(self) -> None:
        """Refuse settings that cannot work."""
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1 (got {self.partitions})")
        if self.lease_ttl_s < 1:
            raise ValueError(f"lease_ttl_s must be at least 1 s (got {self.lease_ttl_s})")

    def subject(self, partition: str) -> str:
        """Subject a partition's results are published on."""
        return f"{self.subject_prefix}.{partition}"


def edge_stream(post: str) -> str:
    """Name of an edge post's local stream (in its own JetStream domain)."""
    return f"TRUCBAN_EDGE_{_token(post).upper()}"


def edge_subject(post: str) -> str:
    """Subject an edge post publishes its results on (outside the hub stream's subjects)."""
    return f"trucban.edge.{_token(post)}.results"


def edge_domain(post: str) -> str:
    """JetStream domain of an edge post's leaf node."""
    return f"edge-{_token(post)}"


def _token(name: str) -> str:
    """A name usable as one subject token / stream name part."""
    if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise ValueError(f"edge post name {name!r}: use letters, digits, '-' or '_'")
    return name
