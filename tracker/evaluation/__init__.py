"""Evaluation on real data: replaying post files in event time, scoring alerts against
labelled PHEME threads, CheckThat! retrieval scores, and plots.

May import: every stage, :mod:`tracker.pipeline`, :mod:`tracker.runtime` and :mod:`alerts`.
"""
