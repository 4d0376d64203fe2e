"""The second reader: what a sentence says, by its nearness to labelled example sentences.

The claim reader (:class:`tracker.claims.extract.ClaimAnalyzer`) reads by word lists; phrasings
it has no pattern for come out as kind ``other``. :class:`ExampleReader` embeds labelled
example sentences once (data in :class:`~tracker.claims.lexicon.Lexicon`: ``*_examples``) and
reads a sentence's vector as the label of its closest example, when that example is
close enough. It refines claim kinds (:meth:`ExampleReader.refine_kind`) and backs the
stance reader (:mod:`tracker.claims.stance`).

Vectors are the embedding model's normalized rows (``Embedder.encode``), so a dot product
is the cosine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from tracker.claims.lexicon import DEFAULT_LEXICON, Lexicon
from tracker.models import Claim, ClaimKind

__all__ = [
    "KIND_LABELS",
    "KIND_THRESHOLD",
    "Encode",
    "ExampleReader",
    "kind_examples",
]

Encode = Callable[[list[str]], np.ndarray]
"""Texts to ``(len(texts), dim)`` float32 rows, L2-normalized (``Embedder.encode``)."""

KIND_LABELS = (ClaimKind.ATTRIBUTION, ClaimKind.CASUALTY, ClaimKind.METHOD)
"""The claim kinds the example reader can give an ``other`` claim."""

KIND_THRESHOLD = 0.55
"""Cosine to the closest kind example from which :meth:`ExampleReader.refine_kind` gives
an ``other`` claim that example's kind. Chosen on the germanwings thread file
(``bench/stance.py --kinds``, 2,507 distinct claims): on the claims the word lists do read
as attribution, casualty or method, the closest example's kind agrees with theirs for 97 %
of those at 0.55 or above (92 % at 0.50, 86 % at 0.35); at 0.55 it turns 0.9 % of the
``other`` claims into a kind (3.2 % at 0.50), the closest of them identity talk ("Islamic
State praises their hero", "it was ISIS") and casualties."""


_MARGIN = 1e-4
"""Cosines closer than this may compare either way between one matrix product for many
vectors and one vector's own product (float32 sums of 384 products of unit vectors differ
from the exact sum by at most 384 * 2**-24 = 2.3e-5, whatever their order): a reading
that close to a tie or to the threshold is made again one vector at a time."""


_PRODUCT = 1 << 18
"""Most multiply-adds in one matrix product of :meth:`ExampleReader.nearest_labels`:
OpenBLAS runs a product of up to 65,536 * 4 of them on the calling thread and larger ones
on its pool, whose threads then spin; on two cores a 1,500 x 384 x 51 product cost 3-7 ms
of CPU and 30 ms of spinning that way, against 1 ms in blocks of this size."""


def kind_examples(lexicon: Lexicon = DEFAULT_LEXICON) -> dict[str, tuple[str, ...]]:
    """The lexicon's claim-kind examples, by kind: ``{"attribution": (...), ...}``. The
    ``other`` examples (opinion about a death, a description counting nobody) hold a
    claim nearest to them at ``other``: "so they killed him for stealing chips" is near
    a casualty example, nearer still to an ``other`` one."""
    return {
        ClaimKind.ATTRIBUTION.value: lexicon.attribution_examples,
        ClaimKind.CASUALTY.value: lexicon.casualty_examples,
        ClaimKind.METHOD.value: lexicon.method_examples,
        ClaimKind.OTHER.value: lexicon.other_examples,
    }


class ExampleReader:
    """Labels by nearness to example sentences.

    ``examples`` maps a label to its example sentences (labels with none are left out);
    ``encode`` embeds them, once, here; ``threshold`` is the cosine the closest example
    must reach for its label to be read. Raises ValueError when there is no example at
    all or ``encode`` returns the wrong shape.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        encode: Encode,
        threshold: float = KIND_THRESHOLD,
    ) -> None:
        labels: list[str] = []
        texts: list[str] = []
        for label, sentences in examples.items():
            for sentence in sentences:
                if sentence.strip():
                    labels.append(label)
                    texts.append(sentence)
        if not texts:
            raise ValueError("ExampleReader needs at least one example sentence")
        vectors = np.asarray(encode(texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(
                f"encode returned shape {vectors.shape} for {len(texts)} example sentences"
            )
        self.threshold = threshold
        self.labels: tuple[str, ...] = tuple(labels)
        self.texts: tuple[str, ...] = tuple(texts)
        self._vectors = np.ascontiguousarray(vectors)

    @classmethod
    def for_kinds(
        cls,
        encode: Encode,
        lexicon: Lexicon = DEFAULT_LEXICON,
        threshold: float = KIND_THRESHOLD,
    ) -> ExampleReader:
        """A reader of claim kinds from the lexicon's attribution, casualty, method and
        other examples."""
        return cls(kind_examples(lexicon), encode, threshold)

    def closest(self, vector: np.ndarray) -> tuple[str, float]:
        """The label of the example closest to ``vector`` and its cosine, whatever the
        threshold."""
        sims = self._vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        best = int(np.argmax(sims))
        return self.labels[best], float(sims[best])

    def nearest(self, vector: np.ndarray) -> tuple[str | None, float]:
        """The label of the example closest to ``vector`` and its cosine; the label is
        None when that cosine is below the threshold."""
        label, score = self.closest(vector)
        return (label if score >= self.threshold else None), score

    def nearest_labels(self, vectors: np.ndarray) -> list[str | None]:
        """:meth:`nearest`'s label for each row of ``vectors`` ((n, dim) float32,
        L2-normalized), from one matrix product for all of them. A row whose best cosine
        lies within ``_MARGIN`` of the threshold or of its second best is read again by
        :meth:`nearest`, so each label is the one :meth:`nearest` gives that row."""
        matrix = np.asarray(vectors, dtype=np.float32)
        if len(matrix) == 0:
            return []
        examples = self._vectors
        # in blocks small enough that OpenBLAS multiplies them on the calling thread
        step = max(1, _PRODUCT // max(1, examples.size))
        sims = np.vstack([matrix[i : i + step] @ examples.T for i in range(0, len(matrix), step)])
        best = np.argmax(sims, axis=1)
        rows = np.arange(len(matrix))
        top = sims[rows, best]
        if sims.shape[1] > 1:
            sims[rows, best] = -np.inf
            second = sims.max(axis=1)
        else:
            second = np.full(len(matrix), -np.inf, dtype=np.float32)
        doubtful = (np.abs(top - self.threshold) < _MARGIN) | (top - second < _MARGIN)
        labels = self.labels
        threshold = self.threshold
        return [
            self.nearest(matrix[i])[0] if again
            else (labels[b] if score >= threshold else None)
            for i, (b, score, again) in enumerate(
                zip(best.tolist(), top.tolist(), doubtful.tolist(), strict=True)
            )
        ]

    def refine_kind(self, claim: Claim, vector: np.ndarray) -> Claim:
        """``claim`` with kind attribution, casualty or method when it is ``other`` and
        its vector is near enough to an example of that kind; otherwise ``claim`` itself.
        An attribution read this way names no actor (the words name none)."""
        if claim.kind is not ClaimKind.OTHER:
            return claim
        return self.refine_kind_as(claim, self.nearest(vector)[0])

    def refine_kinds(self, claims: Sequence[Claim], vectors: np.ndarray) -> list[Claim]:
        """:meth:`refine_kind` of each claim with its row of ``vectors`` ((n, dim)
        float32), from one matrix product (:meth:`nearest_labels`) for the ``other``
        ones; a claim that does not change is returned itself."""
        others = [i for i, c in enumerate(claims) if c.kind is ClaimKind.OTHER]
        out = list(claims)
        if others:
            labels = self.nearest_labels(np.asarray(vectors, dtype=np.float32)[others])
            for i, label in zip(others, labels, strict=True):
                out[i] = self.refine_kind_as(claims[i], label)
        return out

    def refine_kind_as(self, claim: Claim, label: str | None) -> Claim:
        """:meth:`refine_kind` with the label of the claim's vector already read (by
        :meth:`nearest` or :meth:`nearest_labels`)."""
        if claim.kind is not ClaimKind.OTHER:
            return claim
        if label is None:
            return claim
        try:
            kind = ClaimKind(label)
        except ValueError:
            return claim
        if kind not in KIND_LABELS:
            return claim
        return replace(claim, kind=kind)
