"""mmemo.cli."""
