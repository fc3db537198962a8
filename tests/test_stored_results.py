"""Figures stored next to committed weights are read back only under exactly the key they were measured with."""

import json

from drnet_experiments.stored_results import ResultStore


def test_a_stored_figure_is_read_only_under_its_whole_key(tmp_path):
    store = ResultStore(tmp_path / "sub" / "figures.json")
    key = {"sha256": "ab" * 32, "data_source": "stand-in", "frames": 100}
    assert store.get("model", key) is None
    store.put("model", key, {"accuracy": 0.75})
    assert store.get("model", key) == {"accuracy": 0.75}
    assert store.get("other", key) is None
    for changed in ({"sha256": "cd" * 32}, {"data_source": "real"}, {"frames": 200}):
        assert store.get("model", {**key, **changed}) is None, changed
    assert json.loads(store.path.read_text())["model"]["key"] == key


def test_weights_without_a_sha256_are_never_stored_or_read(tmp_path):
    store = ResultStore(tmp_path / "figures.json")
    store.put("model", {"sha256": None}, {"accuracy": 1.0})
    assert not store.path.exists()
    store.path.write_text(json.dumps({"model": {"key": {"sha256": None}, "scores": {"accuracy": 1.0}}}))
    assert store.get("model", {"sha256": None}) is None
