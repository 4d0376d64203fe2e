"""Delivery of alerts: how an alert reaches a person (webhook, Slack, e-mail, log).

:mod:`alerts.outbox` drains the outbox through :mod:`alerts.channels` (one module per
channel, picked by kind in :mod:`alerts.channels.registry`), retrying with
:mod:`alerts.retry`; :mod:`alerts.render` turns an alert into text, HTML, Slack blocks and
JSON. ``alerts`` imports only the alert's shape (:mod:`tracker.models`) and the error tree
(:mod:`tracker.errors`); the outbox's tables belong to the store, reached through the
``OutboxStorage`` protocol.
"""
