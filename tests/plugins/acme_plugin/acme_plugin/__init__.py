"""ACME's strategy profiles (a third-party plugin used by the test suite)."""
