"""Shared helpers for integration tests that run a small live incident (see :mod:`tests.support.live`)."""
