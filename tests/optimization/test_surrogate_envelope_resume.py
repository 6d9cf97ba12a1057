"""Surrogate fits, golden_batch envelopes as constraints, and the resume rule for stale trials."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from optimization import EnvelopeBand, fit_response_surface, load_campaign


def test_response_surface_recovers_a_quadratic_and_its_loo_error():
    rng = np.random.default_rng(0)
    x = rng.uniform([300.0, 1e-4], [380.0, 2e-4], size=(20, 2))
    z = 2 * (x - [300.0, 1e-4]) / ([80.0, 1e-4]) - 1
    y = 1.0 + 0.5 * z[:, 0] - 0.3 * z[:, 1] ** 2 + 0.2 * z[:, 0] * z[:, 1]
    s = fit_response_surface(x, y, ["a", "b"], [300.0, 1e-4], [380.0, 2e-4])
    assert s.r2 == pytest.approx(1.0) and s.loo_rmse < 1e-10
    assert s.predict(np.array([340.0, 1.5e-4]))[0] == pytest.approx(1.0)
    noisy = fit_response_surface(x, y + 0.01 * rng.standard_normal(20), ["a", "b"], [300.0, 1e-4], [380.0, 2e-4])
    # PRESS error of an exact model is about the noise sd inflated by the leverage (6 coefs, 20 points)
    assert 0.005 < noisy.loo_rmse < 0.03


def test_envelope_band_from_a_real_golden_batch_envelope():
    import golden_batch as gb

    hist = gb.make_reactor_history(6, seed=3, duration=4 * 3600.0, interval=240.0)
    aligned = gb.Aligner("elapsed", n_points=61).fit_transform(hist)
    env = gb.Envelope(k=3.0, variables=["T", "V"]).fit(aligned)
    with pytest.raises(Exception, match="say which one"):
        EnvelopeBand.from_envelope(env)
    band = EnvelopeBand.from_envelope(env, "T")
    assert band.variable == "T" and band.units == "K"
    np.testing.assert_allclose(band.time, env.time_)
    np.testing.assert_allclose(band.lower, env.lower_[:, 0])
    # the golden mean is inside; a trajectory pushed 1 K above the upper limit violates by 1 K
    traj = {"time": env.time_, "T": env.mean_[:, 0]}
    assert band.violation(traj) == 0.0
    assert band.violation({"time": env.time_, "T": env.upper_[:, 0] + 1.0}) == pytest.approx(1.0)
    # same verdict as golden_batch's own check, sample by sample
    x = env.mean_[:, 0] + np.where(np.arange(env.time_.size) == 30, 4 * env.std_[30, 0] + 0.1, 0.0)
    inside_gb = env.predict(np.column_stack([x, env.mean_[:, 1]])[None])["in_envelope"].sel(variable="T").values.ravel()
    lo, hi = band.bounds_at(env.time_)
    np.testing.assert_array_equal(inside_gb, (x >= lo) & (x <= hi))
    with pytest.raises(Exception, match="no variable"):
        EnvelopeBand.from_envelope(env, "Tj")


def test_campaign_reads_a_golden_batch_envelope_file(tmp_path, campaign_file):
    import golden_batch as gb
    from workbench.dataset import write_netcdf

    hist = gb.make_reactor_history(5, seed=4, duration=4 * 3600.0, interval=240.0)
    env = gb.Envelope(k=3.0, variables=["T"]).fit(gb.Aligner("elapsed", n_points=61).fit_transform(hist))
    write_netcdf(env.to_dataset(), tmp_path / "golden.nc")
    path = campaign_file(name="golden-file")
    path.write_text(path.read_text().replace("  output_interval: 120 s\n",
                                             "  output_interval: 120 s\n  envelopes: [{variable: T, file: golden.nc}]\n"))
    band = load_campaign(path).problem.envelopes[0]
    np.testing.assert_allclose(band.upper, env.upper_[:, 0])
    assert band.units == "K"


def _running_trial_without_worker(camp):
    study = camp.study()
    tid = study._storage.create_new_trial(study._study_id)  # what study.optimize does before the objective
    return study, tid


def test_resume_fails_an_unowned_running_trial_when_no_worker_is_alive(campaign_file, tmp_path):
    camp = load_campaign(campaign_file(name="race", trials=2), storage=str(tmp_path / "race.journal"))
    study, tid = _running_trial_without_worker(camp)
    number = study._storage.get_trial(tid).number
    assert camp.fail_stale_trials(study) == [number]
    assert study._storage.get_trial(tid).state.name == "FAIL"


def test_resume_keeps_running_trials_while_a_worker_holds_the_lock(campaign_file, tmp_path):
    camp = load_campaign(campaign_file(name="race2", trials=2), storage=str(tmp_path / "race2.journal"))
    study, tid = _running_trial_without_worker(camp)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_SH); print('locked', flush=True); time.sleep(60)"), str(camp.lock_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert camp.fail_stale_trials(study) == []  # a live worker may own it
        assert study._storage.get_trial(tid).state.name == "RUNNING"
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert camp.fail_stale_trials(study) != []  # the worker died: now it is stale
