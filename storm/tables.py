"""The storm desk's table: imported forecasts, their exposure and what was decided."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Integer, String, Table, Text

from common.db import metadata

storm_tracks = Table(
    "storm_tracks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("source", String(20), nullable=False),  # geojson | cap | ibtracs
    Column("filename", String(300), nullable=False),
    Column("imported_at", BigInteger, nullable=False),
    Column("imported_by", String(100), nullable=False),
    Column("overlay", JSON, nullable=False),  # GeoJSON FeatureCollection for the map
    Column("exposure", JSON, nullable=False),  # exposed communes (code, eta, wind, via)
    Column("readiness", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # proposed | confirmed | dismissed
    Column("decided_by", String(100)),
    Column("decided_at", BigInteger),
    Column("declaration_id", Integer),
    Column("note", Text),
)
