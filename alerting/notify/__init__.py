"""Alert delivery: routing, grouping, durable outbox, channels (apprise), escalation, typhoon mode.

Notify reads incidents — the core's :class:`alerting.manager.Change` batches,
and the rest through :class:`alerting.notify.incident_reader.IncidentReader`
handed over by the composition root — never their table, device states or
metrics (the typhoon readiness report gets a network view built at the root).
Everything it must not forget — pending groups, the outbox, escalation timers,
typhoon declarations — lives in the alerting database, so a crash or restart
loses nothing.
"""
