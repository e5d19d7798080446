"""Tests of the pages in headless Chromium (``make test-browser``)."""
