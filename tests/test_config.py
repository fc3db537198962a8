import pytest

from drnet_core.config import Experiment, current_profile, experiment


def test_profile_from_the_environment(monkeypatch):
    monkeypatch.delenv("DRNET_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert current_profile() == "cpu"
    monkeypatch.setenv("CI", "true")  # a CI runner that publishes the book must build the cpu one
    assert current_profile() == "cpu"
    monkeypatch.setenv("DRNET_PROFILE", "paper")
    assert current_profile() == "paper"
    monkeypatch.setenv("DRNET_PROFILE", "laptop")
    with pytest.raises(ValueError, match="ci, cpu, paper"):
        current_profile()


def test_profiles_follow_the_paper_where_it_speaks():
    for profile in ("ci", "cpu", "paper"):
        exp = experiment("mnist", profile)
        assert (exp.model.pose_dim, exp.model.content_dim, exp.train.lr, exp.train.alpha, exp.train.beta) == (5, 128, 0.002, 1.0, 0.1)
        assert exp.model.code_norm == "l2" and not exp.model.skips
    assert experiment("mnist", "paper").model.nf == 64


def test_overrides_and_round_trip():
    exp = experiment("mnist", "ci", **{"train.beta": 0.0, "model.pose_dim": 2})
    assert exp.train.beta == 0.0 and exp.model.pose_dim == 2
    assert Experiment.from_dict(exp.to_dict()) == exp
    with pytest.raises(ValueError, match="no setting 'bogus'"):
        experiment("mnist", "ci", **{"train.bogus": 1})


def test_comparable_config_counts_missing_training_settings_as_their_defaults():
    from drnet_core.config import comparable_config

    NEW_KEYS = ("lr_milestones", "lr_drop_factor", "compile", "widen_from_nf", "widen_at")

    def without_new_keys(config):
        return {**config, "train": {k: v for k, v in config["train"].items() if k not in NEW_KEYS}}

    kth = experiment("kth", "cpu").to_dict()  # never drops the rate: an older sidecar without the keys matches
    assert comparable_config(without_new_keys(kth)) == comparable_config(kth)
    mnist = experiment("mnist", "cpu").to_dict()  # drops the rate and widens: the defaults (never) are another run
    assert comparable_config(without_new_keys(mnist)) != comparable_config(mnist)
    scheduled = ("lr_milestones", "widen_from_nf", "widen_at")  # the committed schedule's own settings
    assert comparable_config(without_new_keys(mnist), scheduled) == comparable_config(mnist, scheduled)
    assert "device" not in comparable_config(mnist, ("device",))["train"]


def test_older_configs_with_two_drop_fields_load_as_milestones():
    """Sidecars written before ``lr_milestones`` name the drops ``lr_drop_at`` / ``lr_drop2_at`` (0 = never)."""
    import warnings

    from drnet_core.config import comparable_config

    exp = experiment("mnist", "cpu")
    old = exp.to_dict()
    old["train"] = {k: v for k, v in old["train"].items() if k != "lr_milestones"}
    old["train"].update(lr_drop_at=exp.train.lr_milestones[0], lr_drop2_at=exp.train.lr_milestones[1])
    assert Experiment.from_dict(old) == exp
    assert comparable_config(old) == comparable_config(exp.to_dict())
    one = {**old, "train": {**old["train"], "lr_drop2_at": 0}}
    assert Experiment.from_dict(one).train.lr_milestones == exp.train.lr_milestones[:1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved = experiment("mnist", "ci", **{"train.lr_drop_at": 7})
    assert moved.train.lr_milestones == (7,) and any(issubclass(w.category, DeprecationWarning) for w in caught)
