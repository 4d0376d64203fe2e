"""Delivery of alerts: how an alert reaches a person (webhook, Slack, e-mail, log)."""
