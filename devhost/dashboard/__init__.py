"""The host's own dashboard at ``/_devhost/``: any hosted app's instances, with filters and
paging, each instance's input, output, custom status, history and timeline, and the actions
the management API offers (raise event, terminate, suspend, resume, restart, purge), taken
through the durable client."""

from devhost.dashboard.handler import DASHBOARD_PATH, Dashboard

__all__ = ["DASHBOARD_PATH", "Dashboard"]
