"""The engines of ``index --engine``: a Dask cluster, started for the run or joined, indexes a
folder into exactly what the local engine makes of it."""

from __future__ import annotations

import pytest

from loopfind_core.base.errors import LoopfindError
from loopfind_core.cli import main
from loopfind_core.library.store import build_index
from tests.library.conftest import index_contents, write_short_tracks


def test_an_unknown_engine_or_an_address_without_dask_is_refused(short_music, tmp_path):
    with pytest.raises(LoopfindError, match="Unknown engine 'spark'"):
        build_index(short_music, tmp_path / "a", kind="mfcc", engine="spark")
    with pytest.raises(LoopfindError, match="needs the dask engine"):
        build_index(short_music, tmp_path / "b", kind="mfcc", address="tcp://127.0.0.1:8786")


@pytest.mark.slow  # ~13 s (minutes on a loaded machine): three index runs, two on Dask
def test_a_dask_cluster_indexes_exactly_what_the_local_engine_does(tmp_path, capsys):
    """Learned features (torch in each spawned Dask worker, one thread each) on a 2-worker
    local cluster, started by the run or joined at its address: the same rows, feature files
    and vector index as the local engine's."""
    from distributed import LocalCluster

    folder = write_short_tracks(tmp_path / "music", 5, duration_s=3.0)
    local = build_index(folder, tmp_path / "local", kind="learned", jobs=2)
    assert (local.added, local.engine) == (5, "local")

    assert main(["index", str(folder), "--out", str(tmp_path / "dask"), "--engine", "dask",
                 "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "5 added" in out and "on the dask engine" in out and "s per track-hour" in out
    assert index_contents(tmp_path / "dask") == index_contents(tmp_path / "local")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        joined = build_index(folder, tmp_path / "joined", kind="learned", engine="dask",
                             address=cluster.scheduler_address)
        assert len(cluster.workers) == 2  # the run joined it and left it running
    assert (joined.added, joined.engine) == (5, "dask")
    assert joined.added_hours == pytest.approx(5 * 3.0 / 3600)
    assert index_contents(tmp_path / "joined") == index_contents(tmp_path / "local")
