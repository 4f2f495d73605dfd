"""Test helpers shipped with the package: real servers started for tests (PostgreSQL, S3),
stores in a given state, and the tiny models the tests build and save themselves.

Layer 10: only the tests import this package; nothing in the library does.
"""
