"""The HTTP side of the host: the aiohttp server, the app's HTTP triggers with their route
templates and keys, and the durable extension's management API."""
