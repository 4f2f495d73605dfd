"""mmemo.reports."""
