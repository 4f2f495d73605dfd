"""The store: where every byte lives and the one lifecycle every job follows.

Holds the registry schema (:mod:`.schema`, SQLAlchemy + Alembic :mod:`.migrate`), the lake
(DuckLake, attached as ``lake``), the one DuckDB connection per :class:`~.session.Session`, the
job lifecycle (:mod:`.lifecycle`: register or join an entry, commit rows, complete, release;
:mod:`.units`: the folds and shards several processes share; :mod:`.gc`), and the registry
look-ups several layers share (run names in :mod:`.runs`, clip selections in
:mod:`.selection`, the class vocabulary in :mod:`.vocabulary`).

Layer 1: imports only the base modules (``mmemo.errors``, ``mmemo.hashing``, ``mmemo.sqltext``,
``mmemo.params``, ``mmemo.provenance``, ``mmemo.resources``, ``mmemo.progress``).
"""
