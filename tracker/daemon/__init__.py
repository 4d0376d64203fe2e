"""The long-running service: the intake queue in front of the pipeline, scheduled polling
and periodic jobs, the HTTP API handlers and the Prometheus metrics.

Modules, each depending only on those above it::

    metrics.py   the Prometheus metrics, in a registry of their own
    auth.py      the read and write tokens, compared in constant time (the page uses it too)
    intake.py    the queue of batches in front of the pipeline
    jobs.py      polling sources with backoff, the schedule, the tasks in flight
    api.py       the HTTP handlers, against a small ``Service`` Protocol
    service.py   ``Daemon``: builds the pipeline, read pool, intake, jobs and the app

May import: every stage, :mod:`tracker.pipeline`, :mod:`tracker.runtime` and :mod:`alerts`.
"""
