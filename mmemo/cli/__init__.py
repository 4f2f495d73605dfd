"""The Typer command line: one module per command group, each command a few lines that
parse options and call the library.

Layer 9 (top): may import any library package, never ``mmemo.testing``.
"""
