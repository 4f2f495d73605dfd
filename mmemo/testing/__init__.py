"""mmemo.testing."""
