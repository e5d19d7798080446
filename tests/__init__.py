"""The test suite: the order app, its local host, the FCM emulator and the bench."""
