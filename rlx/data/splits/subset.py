"""`data.classes`: restrict an index to a few classes, relabelled 0..k-1.

Entries are class names or ids of the index (`["walk", "run"]`, `[3, 7]`).
The kept classes take new ids in their *original id order*, whatever order
they were listed in, so `[run, walk]` and `[walk, run]` give the same model
outputs. An entry that is a decimal number and also the name of a different
class (a dataset whose classes are called "1", "2", ...) is ambiguous and an
error, as is an unknown name, an id out of range, or a class named twice.

Single-label: the videos of the kept classes stay. Multi-label (Charades): a
video stays when it has at least one kept class; its `labels` (and
`segments`) keep only those. Videos without any label (Charades has some)
leave too: a subset is for a quick experiment on those classes.

The mapping is kept in ``df.attrs["class_map"]`` (the original id of each
new id; `write_index` stores it) and the names in ``df.attrs["classes"]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def resolve_classes(wanted: Sequence[str | int], classes: Sequence[str]) -> list[int]:
    """The original ids of `wanted` (names or ids), sorted; errors name data.classes and the entry."""
    ids: dict[int, str] = {}
    for entry in wanted:
        text = str(entry)
        by_name = classes.index(text) if text in classes else None
        by_id = int(text) if text.isdecimal() else None
        if by_name is not None and by_id is not None and by_name != by_id:
            raise ValueError(
                f"data.classes: {text!r} is ambiguous: the name of class {by_name} and the id of {classes[by_id]!r}"
                if by_id < len(classes)
                else f"data.classes: {text!r} names class {by_name} but reads as id {by_id}; ambiguous"
            )
        found = by_name if by_name is not None else by_id
        if found is None or not 0 <= found < len(classes):
            shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
            raise ValueError(f"data.classes: {text!r} is not a class name nor an id 0..{len(classes) - 1} ({shown})")
        if found in ids:
            raise ValueError(f"data.classes: {text!r} and {ids[found]!r} are the same class {classes[found]!r}")
        ids[found] = text
    if not ids:
        raise ValueError("data.classes: empty subset")
    return sorted(ids)


def select_classes(index: pd.DataFrame, wanted: Sequence[str | int]) -> pd.DataFrame:
    """`index` restricted to the `wanted` classes, relabelled 0..k-1, with attrs classes and class_map updated.

    A subset of an index that is itself a subset maps back to the first index's ids.
    """
    classes = list(index.attrs["classes"])
    kept = resolve_classes(wanted, classes)
    new_id = {old: new for new, old in enumerate(kept)}
    labels = index["labels"].map(lambda values: sorted(new_id[v] for v in values if v in new_id))
    multilabel = bool(len(index)) and bool((index["label"] == -1).all())
    keep = labels.map(len) > 0 if multilabel else index["label"].isin(kept)
    out = index.assign(labels=labels)[keep].reset_index(drop=True)
    if not multilabel:
        out["label"] = out["label"].map(new_id).astype(index["label"].dtype)
    if "segments" in out:
        out["segments"] = out["segments"].map(
            lambda segs: [{**s, "class": new_id[s["class"]]} for s in segs if s["class"] in new_id]
        )
    previous = index.attrs.get("class_map") or list(range(len(classes)))
    out.attrs = {**index.attrs, "classes": [classes[i] for i in kept], "class_map": [previous[i] for i in kept]}
    return out
