"""The post format and what every post goes through first: parsing a record into a
:class:`~tracker.models.Post`, normalizing its text, deciding its tier, reading JSON Lines
and CSV files.

May import: :mod:`tracker.errors`, :mod:`tracker.models`, :mod:`tracker.config`.
"""
