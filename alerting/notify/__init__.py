"""Alert delivery: routing, grouping, durable outbox, channels (apprise), escalation, typhoon mode.

Notify reads incidents (the core's :class:`alerting.manager.Change` batches and
the incident tables), never device states. Everything it must not forget —
pending groups, the outbox, escalation timers, typhoon declarations — lives in
the alerting database, so a crash or restart loses nothing.
"""
