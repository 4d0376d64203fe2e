"""Stage 6, sentence vectors: resolving the model (a configured folder, the shipped copy,
a hub name), its backends (torch, ONNX, OpenVINO) and the one worker thread they run on.

Modules, imports pointing one way: ``base`` (the Embedder and Encoder protocols, what a
loaded backend is, why one cannot run) <- ``resolve`` (where the model comes from) <-
``torch``, ``onnx`` <- ``openvino`` <- ``model`` (the embedder: backend choice and
fallback; ``shared_embedder``). ``worker`` (the model thread) stands alone. Callers that
only pass an embedder around import :class:`tracker.embedding.base.Embedder`.

May import: the shared nouns and layers (:mod:`tracker.config`, :mod:`tracker.errors`,
:mod:`tracker.files`).
"""
