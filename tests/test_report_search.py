"""rlx.report.search: a space file as the report reads it, and param values as numbers."""

from __future__ import annotations

import pytest

from rlx.report.search import ReportError, SearchedKey, as_number, parse_space

SPACE = """
name: abl
description: >
  A test
  ablation.
search:
  model:
    arch: {grid: [tsn, two_branch]}
    dropout: {uniform: [0.5, 0.9], role: nuisance}
  data.num_segments: {grid: [6, 8], role: scientific}
metric: val/loss
mode: min
"""


def test_parse_space_reads_nested_search_entries_sorted_by_key():
    space = parse_space(SPACE, where="abl.yaml")
    assert (space.name, space.description, space.metric, space.mode) == ("abl", "A test ablation.", "val/loss", "min")
    assert space.searched == (
        SearchedKey("data.num_segments", "grid", (6, 8), "scientific"),
        SearchedKey("model.arch", "grid", ("tsn", "two_branch"), "scientific"),  # role defaults to scientific
        SearchedKey("model.dropout", "uniform", (0.5, 0.9), "nuisance"),
    )


def test_parse_space_defaults_and_errors():
    empty = parse_space("name: x", where="x.yaml")
    assert (empty.metric, empty.mode, empty.searched, empty.description) == ("val/top1", "max", (), "")
    with pytest.raises(ReportError, match=r"^run abc space/s.yaml: not a search-space mapping$"):
        parse_space("- a list", where="run abc space/s.yaml")


@pytest.mark.parametrize(
    ("text", "number"),
    [("0.5", 0.5), ("8", 8.0), (3, 3.0), ("1e-3", 0.001), ("tsn", None), (True, None), ("inf", None), ("nan", None)],
)
def test_as_number(text, number):
    assert as_number(text) == number
