"""mmemo.jobs."""
