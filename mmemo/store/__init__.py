"""mmemo.store."""
