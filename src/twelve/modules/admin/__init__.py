"""Admin: the admin API and (later) the dashboard, over every module's public api."""
