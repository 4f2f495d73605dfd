"""mmemo.fusion."""
