"""claimwatch's service: everything that decides whether and what to alert."""

__version__ = "0.1.0"
