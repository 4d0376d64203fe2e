"""Stages 9 and 10, rates and rules: spread rates in windows of event time, the verified
rate on a narrative's question, conflicts between trusted sources, and the monitor that
decides when an alert is raised, escalated or resolved and writes it to the outbox.

May import: the shared nouns, :mod:`tracker.config`, :mod:`tracker.store`,
:mod:`tracker.claims`, :mod:`tracker.narratives`.
"""
