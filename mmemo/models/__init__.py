"""mmemo.models."""
