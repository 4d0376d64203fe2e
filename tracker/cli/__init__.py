"""The ``claimwatch`` command: one module per verb group, thin (parse, call, print). The one
place where errors become messages and exit statuses.

May import: anything.
"""
