"""The HTTP front end: routes, keys, the app's functions and the management API."""
