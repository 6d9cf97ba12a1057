"""A campaign records its search space in its study and refuses to resume a changed one (issue 22)."""

from __future__ import annotations

import json
import logging
import re

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimization import (
    in_search_space,
    load_campaign,
    make_storage,
    search_space,
    search_space_hash,
    space_changes,
)
from workbench.errors import ConfigError

HIGH = "parameters.jacket_inlet_1.high"


def studies(journal) -> dict[str, int]:
    """Study name → number of finished trials in a journal."""
    storage = make_storage(str(journal))
    out = {}
    for s in storage.get_all_studies():
        trials = storage.get_all_trials(s._study_id, deepcopy=False)
        out[s.study_name] = sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    return out


def test_the_study_records_its_search_space(campaign_file):
    camp = load_campaign(campaign_file(trials=2))
    camp.run(progress=False)
    attrs = camp.study().user_attrs
    assert attrs["search_space"] == search_space(camp.config)
    assert attrs["search_space_hash"] == search_space_hash(search_space(camp.config))
    assert attrs["search_space"]["parameters"]["jacket_inlet_1"] == {
        "type": "float",
        "unit": "K",
        "low": 300.0,
        "high": 380.0,
        "step": None,
        "log": False,
    }


def test_changed_bounds_are_refused_naming_the_change(campaign_file):
    path = campaign_file(trials=3)
    first = load_campaign(path)
    first.run(progress=False)
    journal = first.storage_spec
    changed = load_campaign(path, overrides={HIGH: "360 K"})
    with pytest.raises(ConfigError) as err:
        changed.run(progress=False)
    msg = str(err.value)
    assert "bound of jacket_inlet_1 changed from [300, 380] to [300, 360] K" in msg
    assert "--new-study" in msg and "--resume-anyway" in msg and "reactor-yield" in msg
    assert studies(journal) == {"reactor-yield": 3}  # nothing ran, nothing was written
    # a changed direction, a new parameter and a changed constraint are named too
    other = load_campaign(
        path, overrides={"objectives.0.direction": "minimize", "constraints.0.max": 0.04}
    )
    with pytest.raises(
        ConfigError, match=r"objectives changed from yield \(maximize\) to yield \(minimize\)"
    ):
        other.study()
    with pytest.raises(ConfigError, match=r"impurity <= 0.05.* to .*impurity <= 0.04"):
        other.study()
    # the unchanged campaign resumes its study as before
    assert load_campaign(path).run(n_trials=4, progress=False).study == "reactor-yield"
    assert studies(journal) == {"reactor-yield": 4}


def test_new_study_keeps_the_old_one(campaign_file, capsys):
    from twin_app.cli.main import main

    path = campaign_file(trials=3)
    assert main(["optimize", str(path), "--json"]) == 0
    capsys.readouterr()
    assert main(["optimize", str(path), "--set", f"{HIGH}=360 K", "--json"]) == 2
    err = capsys.readouterr().err
    assert "bound of jacket_inlet_1 changed from [300, 380] to [300, 360] K" in " ".join(
        err.split()
    )
    assert "Traceback" not in err
    assert main(["optimize", str(path), "--set", f"{HIGH}=360 K", "--new-study", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["study"] == "reactor-yield-2" and out["trials"] == 3
    journal = path.with_suffix(".journal")
    assert studies(journal) == {"reactor-yield": 3, "reactor-yield-2": 3}
    # the same changed campaign now resumes its own study; the original space resumes the original
    assert main(["optimize", str(path), "--set", f"{HIGH}=360 K", "--trials", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["study"] == "reactor-yield-2"
    assert main(["optimize", str(path), "--trials", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["study"] == "reactor-yield"
    assert studies(journal) == {"reactor-yield": 5, "reactor-yield-2": 4}
    assert main(["optimize", str(path), "--new-study", "--resume-anyway"]) == 2


def test_new_study_with_workers_writes_only_the_new_study(campaign_file, workers_gate):
    path = campaign_file(trials=4)
    load_campaign(path).run(progress=False)
    camp = load_campaign(path, overrides={HIGH: "360 K"}, on_space_change="new-study")
    journal = camp.storage_spec
    _ = camp.study()  # chosen (and created) here; the child process must use the same study
    from tests.optimization.test_campaign import finish, run_in_thread

    with workers_gate(camp, 2) as open_gate:
        th, box = run_in_thread(camp, workers=2, n_trials=6, progress=False)
        open_gate()
        res = finish(th, box)
    assert len(set(res.trials["worker"].values)) == 2
    assert studies(journal) in (
        {"reactor-yield": 4, "reactor-yield-2": 6},
        {"reactor-yield": 4, "reactor-yield-2": 7},
    )


def test_resume_anyway_picks_the_best_recipe_inside_the_new_bounds(campaign_file, caplog):
    path = campaign_file(trials=8, impurity_max=1.0)
    old = load_campaign(path).run(progress=False)
    assert old.best is not None
    b = old.best["params"]["jacket_inlet_1"]
    # new bounds that leave the old best recipe outside
    new_bounds = (
        {"parameters.jacket_inlet_1.low": f"{b + 1} K"} if b < 370 else {HIGH: f"{b - 1} K"}
    )
    with pytest.raises(ConfigError):
        load_campaign(path, overrides=new_bounds).run(progress=False)
    camp = load_campaign(path, overrides=new_bounds, on_space_change="resume-anyway")
    with caplog.at_level(logging.WARNING):
        res = camp.run(n_trials=11, progress=False)
    assert "Resuming it anyway" in caplog.text and camp.space_changes
    assert res.study == "reactor-yield" and int(res.trials.sizes["trial"]) >= 11
    assert res.best is not None and res.best["number"] != old.best["number"]
    assert in_search_space(res.best["params"], camp.config)
    outside = int((~res.trials["in_search_space"].values).sum())
    assert (
        outside >= 1
        and f"{outside} complete trials lie outside the current search space" in res.message
    )
    # changed objectives cannot be resumed anyway: Optuna fixed the study's directions
    flipped = load_campaign(
        path,
        overrides={**new_bounds, "objectives.0.direction": "minimize"},
        on_space_change="resume-anyway",
    )
    with pytest.raises(ConfigError, match="--new-study"):
        flipped.study()


def test_a_study_without_a_recorded_space_resumes_with_a_warning(campaign_file, caplog):
    path = campaign_file(trials=3)
    camp = load_campaign(path)
    legacy = optuna.create_study(
        storage=make_storage(camp.storage_spec), study_name="reactor-yield", direction="maximize"
    )
    legacy.enqueue_trial({"jacket_inlet_1": 340.0, "jacket_inlet_2": 340.0, "feed_rate_1": 1e-4})
    assert "search_space_hash" not in legacy.user_attrs
    with caplog.at_level(logging.WARNING):
        res = camp.run(progress=False)
    assert "was created before campaigns recorded their search space" in caplog.text
    assert res.study == "reactor-yield" and studies(camp.storage_spec) == {"reactor-yield": 3}
    # recorded from now on: a changed campaign is refused next time
    with pytest.raises(ConfigError, match="bound of jacket_inlet_1"):
        load_campaign(path, overrides={HIGH: "360 K"}).study()


bounds = st.tuples(st.floats(200, 400, allow_nan=False), st.floats(1, 100, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(old=bounds, new=bounds)
def test_a_change_of_bounds_changes_the_hash_and_is_named(old, new):
    from optimization import CampaignConfig

    def config(low, width):
        return CampaignConfig.model_validate(
            {
                "name": "c",
                "objectives": [{"metric": "yield"}],
                "parameters": [
                    {"name": "temperature", "low": low, "high": low + width, "unit": "K"}
                ],
            }
        )

    a, b = search_space(config(*old)), search_space(config(*new))
    changes = space_changes(a, b)
    if a == b:
        assert changes == [] and search_space_hash(a) == search_space_hash(b)
    else:
        assert search_space_hash(a) != search_space_hash(b)
        assert len(changes) == 1
        m = re.fullmatch(
            r"bound of temperature changed from \[(.+), (.+)\] to \[(.+), (.+)\] K", changes[0]
        )
        assert m is not None and m.group(1, 2) != m.group(3, 4)  # never reads as "no change"
        shown = [float(x) for x in m.groups()]
        assert shown == pytest.approx([old[0], old[0] + old[1], new[0], new[0] + new[1]], rel=1e-5)
    assert search_space_hash(a) == search_space_hash(
        json.loads(json.dumps(a))
    )  # stable through storage
