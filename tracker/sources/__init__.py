"""Stage 1, where posts come from: RSS and Atom feeds, Mastodon, X, Bluesky, public
Telegram channels and GDELT. Each source is one module behind the
:class:`~tracker.sources.base.Source` protocol; every source yields
:class:`~tracker.models.Post` and keeps its cursor in the database.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.ingest`. Knows nothing
of claims.
"""
