"""Tests of the pages in headless Chromium (run by ``make test-browser``)."""
