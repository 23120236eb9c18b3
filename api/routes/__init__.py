"""Route modules, one per area: inventory and states, incidents and maintenance, series, admin, pages."""
