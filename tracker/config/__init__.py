"""Settings, declared once: the TOML file and ``CLAIMWATCH_*`` variables read into typed
settings, with hints for the mistakes people make.

May import: :mod:`tracker.errors` and the shared nouns (:mod:`tracker.models`). Every
stage reads its settings from here.
"""
