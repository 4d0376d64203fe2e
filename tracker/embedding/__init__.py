"""Stage 6, sentence vectors: resolving the model (a configured folder, the shipped copy,
a hub name), its backends (torch, ONNX, OpenVINO) and the one worker thread they run on.

May import: the shared nouns and :mod:`tracker.config`.
"""
