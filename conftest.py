"""Root pytest configuration: shared fixtures live in helpline.core.testing."""

pytest_plugins = ["helpline.core.testing"]
