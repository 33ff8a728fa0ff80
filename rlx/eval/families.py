"""Per-family accuracy on the synthetic relational benchmark: what each family of classes tests, scored.

The families and the order pairs are defined with the classes in
`rlx.data.synthetic`; this module only scores predictions against them
(evaluation may import data, never the reverse).
"""

from __future__ import annotations

import numpy as np

from rlx.data.synthetic.scenes import FAMILIES, ORDER_PAIRS, class_family

__all__ = ["FAMILIES", "ORDER_PAIRS", "class_family", "family_accuracy"]


def family_accuracy(scores: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Top-1 accuracy in percent: "all", per family and "pair:<first>" within each order pair (NaN when absent).

    Raises ValueError (from `class_family`) when a labelled class is not a synthetic benchmark class.
    """
    pred = scores.argmax(axis=1)
    names = np.asarray(class_names, dtype=object)[labels]

    def acc(mask: np.ndarray) -> float:
        return 100.0 * float((pred[mask] == labels[mask]).mean()) if mask.any() else float("nan")

    out = {"all": acc(np.ones(len(labels), bool))}
    families = np.asarray([class_family(n) for n in names], dtype=object)
    for family in FAMILIES:
        out[family] = acc(families == family)
    for first, second in ORDER_PAIRS:
        out[f"pair:{first}"] = acc(np.isin(names, [first, second]))
    return out
