"""Local stand-ins for what Azure provides: the Azurite process, the FCM emulator when the
app's settings point at it, and the start-up banner."""
