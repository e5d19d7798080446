"""The durable extension's management API: ``api`` routes and answers, ``params`` reads
requests, ``bodies`` shapes the answers."""

from devhost.http.management.api import ManagementApi

__all__ = ["ManagementApi"]
