"""Channels: the ways an alert reaches a person, one module per kind.

Dependencies point one way: :mod:`.base` (the ``Channel`` protocol, the kinds,
``env_value``) imports no channel; :mod:`.http` (the aiohttp plumbing) imports ``base``;
:mod:`.webhook`, :mod:`.slack`, :mod:`.teams`, :mod:`.discord`, :mod:`.email` and
:mod:`.log` import ``base``, ``http`` and :mod:`alerts.render`; :mod:`.registry`
(``build_channels``, ``close_channels``) imports every channel. This ``__init__`` imports
nothing, so importing one channel never loads the others. Outside ``alerts`` only
:mod:`tracker.models` and :mod:`tracker.errors` are imported.
"""
