"""The FCM emulator's device simulator, driven in Chromium against the app on a local host."""
