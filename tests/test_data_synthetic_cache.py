"""rlx.data.synthetic.cache: one folder per parameters, generated once, never counted when half-done."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlx.data.synthetic import cache, writer

TINY = dict(videos_per_class=1, frames=8, size=32, seed=0)


def test_default_cache_dir_reads_rlx_cache(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RLX_CACHE", str(tmp_path / "c"))
    assert cache.default_cache_dir() == tmp_path / "c"
    monkeypatch.setenv("RLX_CACHE", "")  # empty counts as unset
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_cache_dir() == tmp_path / ".cache" / "rlx"


def test_cache_key_folder_names_every_parameter_and_the_version():
    assert cache.CacheKey().folder == "synthetic-v1-n24-f40-s96-seed0"  # write_benchmark's defaults
    assert cache.CacheKey(**TINY).folder == "synthetic-v1-n1-f8-s32-seed0"
    with pytest.raises(TypeError):
        cache.CacheKey(videos=3)  # an unknown parameter is an error, not a silent default


def test_ensure_benchmark_generates_once(tmp_path: Path, monkeypatch):
    path = cache.ensure_benchmark(tmp_path, **TINY)
    assert (path / cache.MARKER).is_file() and len(list((path / "videos").rglob("*.mp4"))) == 11
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp folder left behind

    def no_regeneration(*args, **kwargs):
        raise AssertionError("a complete cached benchmark was regenerated")

    monkeypatch.setattr(cache, "write_benchmark", no_regeneration)
    assert cache.ensure_benchmark(tmp_path, **TINY) == path


def test_ensure_benchmark_never_counts_a_partial_copy(tmp_path: Path, monkeypatch):
    name = cache.CacheKey(**TINY).folder

    def interrupted(out: Path, **kwargs):
        (Path(out) / "videos").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(cache, "write_benchmark", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.ensure_benchmark(tmp_path, **TINY)
    assert list(tmp_path.iterdir()) == []  # neither a final folder nor a temp one
    (tmp_path / name / "videos").mkdir(parents=True)  # a half copy (e.g. made by hand) without the marker
    monkeypatch.setattr(cache, "write_benchmark", writer.write_benchmark)
    path = cache.ensure_benchmark(tmp_path, **TINY)
    assert path.name == name and (path / cache.MARKER).is_file()
    (path / "videos" / "interaction_meet" / writer.clip_name("interaction_meet", 0)).unlink()
    assert not cache.is_complete(path, cache.CacheKey(**TINY))  # a missing video is noticed


def test_a_marker_for_other_parameters_or_counts_is_not_complete(tmp_path: Path):
    key = cache.CacheKey(**TINY)
    path = cache.ensure_benchmark(tmp_path, **TINY)
    assert cache.is_complete(path, key)
    assert not cache.is_complete(path, cache.CacheKey(**{**TINY, "seed": 1}))  # params differ from the marker's
    marker = (path / cache.MARKER).read_text(encoding="utf-8")
    (path / cache.MARKER).write_text(marker.replace('"num_videos": 11', '"num_videos": 12'), encoding="utf-8")
    assert not cache.is_complete(path, key)  # the lists name fewer videos than the marker says were written
    (path / cache.MARKER).write_text("{not json", encoding="utf-8")
    assert not cache.is_complete(path, key)
