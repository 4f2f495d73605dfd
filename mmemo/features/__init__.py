"""mmemo.features."""
