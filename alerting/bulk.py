"""Many rows in one statement, handed straight to the database driver.

A national evaluation writes thousands of rows per cycle (device states,
state history). Through SQLAlchemy Core each row of an ``executemany`` costs
its parameter processing (~5 µs, JSON columns more); here the rows go to the
driver's ``executemany`` as tuples, JSON already serialised. SQL is written
once per statement for SQLite (``?``) and PostgreSQL (``%s``), both of which
take ``INSERT … ON CONFLICT (key) DO UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table


def marker(conn: Connection) -> str:
    """The driver's positional parameter marker."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def execute_many(conn: Connection, sql: str, rows: Sequence[tuple]) -> None:
    """Run ``sql`` once per row; ``sql`` writes its parameters as ``{}`` (filled with the marker)."""
    if rows:
        conn.exec_driver_sql(sql.replace("{}", marker(conn)), list(rows))


def upsert_many(conn: Connection, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """Insert ``rows`` (values of ``columns``, in order) into ``table``; a row whose ``key`` exists
    replaces it."""
    names = ", ".join(columns)
    values = ", ".join("{}" for _ in columns)
    update = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    execute_many(conn, f"INSERT INTO {table.name} ({names}) VALUES ({values}) "
                       f"ON CONFLICT ({key}) DO UPDATE SET {update}", rows)
