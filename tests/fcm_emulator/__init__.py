"""Tests of the FCM emulator: its rules and its HTTP server."""
