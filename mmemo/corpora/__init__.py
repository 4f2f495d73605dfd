"""mmemo.corpora."""
