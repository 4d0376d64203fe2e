"""The long-running service: the intake queue in front of the pipeline, scheduled polling
and periodic jobs, the HTTP API handlers and the Prometheus metrics.

May import: every stage, :mod:`tracker.pipeline`, :mod:`tracker.runtime` and :mod:`alerts`.
"""
