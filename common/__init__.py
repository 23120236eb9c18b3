"""The ground room: what every other room may use and which imports nothing of the project.

Errors with actionable messages (:mod:`common.errors`), the one database
``MetaData`` every table registers with (:mod:`common.db`), the one backoff
rule and retry loop (:mod:`common.retry`); later also the
shared vocabulary and formatting. Nothing here imports a room above it.
"""
