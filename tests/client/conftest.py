"""The client tests' fixtures live in tests/client/support.py."""

from tests.client.support import api_url, namespaced_api_url, stub_api

__all__ = ["api_url", "namespaced_api_url", "stub_api"]
