import json

import pytest
import torch

from drnet_core.train import NonFiniteLossError, Trainer, draw_batch, step_generator


def _params(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _changed(before, module):
    return [n for n, p in module.named_parameters() if not torch.equal(before[n], p.detach())]


def _batch(trainer, step=0):
    cfg = trainer.cfg
    x_t, x_tk = draw_batch(trainer.source, cfg.batch_size, cfg.max_offset, step_generator(cfg.seed, step))
    return trainer._prepare(x_t), trainer._prepare(x_tk)


def test_c_step_changes_no_encoder_weight(tiny_experiment, train_digits):
    tr = Trainer(tiny_experiment, train_digits, progress=False)
    m = tr.model
    enc_before = {name: _params(getattr(m, name)) for name in ("content_encoder", "pose_encoder", "decoder")}
    c_before = _params(m.discriminator)
    x_t, x_tk = _batch(tr)
    tr.discriminator_step(*tr.pose_codes(x_t, x_tk))
    assert _changed(c_before, m.discriminator), "C did not learn"
    for name, before in enc_before.items():
        assert not _changed(before, getattr(m, name)), f"the C step changed {name}"


def test_encoder_step_changes_no_c_weight(tiny_experiment, train_digits):
    tr = Trainer(tiny_experiment, train_digits, progress=False)
    m = tr.model
    c_before, ep_before, ec_before = _params(m.discriminator), _params(m.pose_encoder), _params(m.content_encoder)
    x_t, x_tk = _batch(tr)
    tr.encoder_step(x_t, x_tk, *tr.pose_codes(x_t, x_tk))
    assert not _changed(c_before, m.discriminator)
    assert _changed(ep_before, m.pose_encoder) and _changed(ec_before, m.content_encoder)
    assert all(p.requires_grad for p in m.discriminator.parameters()), "C must be unfrozen again after the step"


def test_adversarial_gradient_reaches_only_the_pose_encoder(tiny_experiment, train_digits):
    tr = Trainer(tiny_experiment, train_digits, progress=False)
    m = tr.model
    x_t, x_tk = _batch(tr)
    m.discriminator.requires_grad_(False)
    terms = tr.encoder_losses(x_t, x_tk, *tr.pose_codes(x_t, x_tk))
    m.zero_grad(set_to_none=True)
    terms["adv_pose"].backward()
    grads = {name: [p.grad for p in getattr(m, name).parameters()] for name in ("pose_encoder", "content_encoder", "decoder", "discriminator")}
    assert any(g is not None and g.abs().sum() > 0 for g in grads["pose_encoder"])
    for name in ("content_encoder", "decoder", "discriminator"):
        assert all(g is None or g.abs().sum() == 0 for g in grads[name]), f"adversarial gradient leaked into {name}"


def test_negatives_never_pair_a_row_with_itself(tiny_experiment, train_digits):
    """C's different-clip pairs (a_i, b_{i-1}) take b from another row of the batch (sampling with replacement can
    still put one clip in two rows); its same-clip pairs are (a_i, b_i)."""
    tr = Trainer(tiny_experiment, train_digits, progress=False)
    seen = []
    forward = tr.model.discriminator.forward

    def spy(a, b):
        seen.append((a.clone(), b.clone()))
        return forward(a, b)

    tr.model.discriminator.forward = spy
    pose_t = torch.nn.functional.normalize(torch.randn(6, 5, generator=torch.Generator().manual_seed(0)), dim=1)
    pose_tk = pose_t + 0.0
    tr.discriminator_step(pose_t, pose_tk)
    (a_same, b_same), (a_diff, b_diff) = seen
    assert torch.equal(a_same, pose_t) and torch.equal(b_same, pose_tk) and torch.equal(a_diff, pose_t)
    assert all(not torch.equal(b_diff[i], pose_tk[i]) for i in range(6))
    assert sorted(map(tuple, b_diff.tolist())) == sorted(map(tuple, pose_tk.tolist()))  # a permutation of the batch's codes


def test_loss_falls_and_metrics_log_is_written(tiny_experiment, train_digits, tmp_path):
    tr = Trainer(tiny_experiment, train_digits, out_dir=tmp_path, progress=False)
    records = tr.fit(12)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and lines[-1]["step"] == 12
    for key in ("rec", "sim", "adv_pose", "disc", "disc_acc", "samples_per_s"):
        assert key in lines[0]
    assert records[-1]["rec"] < records[0]["rec"]


def test_resume_matches_uninterrupted_training(tiny_experiment, train_digits, tmp_path):
    straight = Trainer(tiny_experiment, train_digits, out_dir=tmp_path / "a", progress=False)
    straight.fit(6)
    first = Trainer(tiny_experiment, train_digits, out_dir=tmp_path / "b", progress=False)
    first.fit(4)
    second = Trainer(tiny_experiment, train_digits, out_dir=tmp_path / "b", progress=False)
    assert second.resume_if_possible() and second.step == 4
    second.fit(6)
    for (name, a), b in zip(straight.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name


def test_time_limit_stops_at_a_log_step_with_a_checkpoint_and_resume_finishes(tiny_experiment, train_digits, tmp_path):
    from drnet_core.config import with_overrides

    exp = with_overrides(tiny_experiment, {"train.log_every": 3, "train.checkpoint_every": 100})
    cut = Trainer(exp, train_digits, out_dir=tmp_path / "run", progress=False)
    records = cut.fit(9, time_limit_s=0.0)  # out of time at once: stops at the first log step
    assert cut.step == 3 and records[-1]["step"] == 3
    state = json.loads((tmp_path / "run" / "trainer_state.json").read_text())
    assert state["step"] == 3, "the stop writes a checkpoint although checkpoint_every is 100"
    rest = Trainer(exp, train_digits, out_dir=tmp_path / "run", progress=False)
    assert rest.resume_if_possible() and rest.step == 3
    rest.fit(9, time_limit_s=3600.0)
    straight = Trainer(exp, train_digits, progress=False)
    straight.fit(9)
    assert rest.step == 9
    for (name, a), b in zip(straight.model.state_dict().items(), rest.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name


def test_resume_cuts_the_log_back_to_the_checkpoint(tiny_experiment, train_digits, tmp_path):
    """A run stopped between checkpoints logged steps it will train again; resuming keeps each step once."""
    from drnet_core.config import with_overrides

    exp = with_overrides(tiny_experiment, {"train.log_every": 1, "train.checkpoint_every": 4})
    Trainer(exp, train_digits, out_dir=tmp_path, progress=False).fit(4)
    log = tmp_path / "metrics.jsonl"
    with open(log, "a") as handle:  # what a stop at step 6 leaves: steps 5-6 logged, no checkpoint, a cut line
        handle.write('{"step": 5, "rec": 1.0}\n{"step": 6, "rec": 1.0}\n{"step": 7, "re')
    resumed = Trainer(exp, train_digits, out_dir=tmp_path, progress=False)
    assert resumed.resume_if_possible() and resumed.step == 4
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3, 4]
    resumed.fit(6)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_resume_refuses_another_config(tiny_experiment, train_digits, tmp_path):
    from drnet_core import CheckpointError
    from drnet_core.config import with_overrides

    Trainer(tiny_experiment, train_digits, out_dir=tmp_path, progress=False).fit(2)
    other = Trainer(with_overrides(tiny_experiment, {"train.beta": 0.0}), train_digits, out_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="train.beta"):
        other.resume_if_possible()


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tiny_experiment, train_digits, tmp_path):
    tr = Trainer(tiny_experiment, train_digits, out_dir=tmp_path, progress=False)
    tr.fit(2)
    good = (tmp_path / "model.pt").read_bytes()
    with torch.no_grad():
        next(tr.model.decoder.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="step 3"):
        tr.fit(4)
    assert (tmp_path / "model.pt").read_bytes() == good


def test_warm_start_takes_weights_and_step_but_refuses_another_model(tiny_experiment, train_digits, tmp_path):
    from drnet_core import CheckpointError
    from drnet_core.config import with_overrides

    first = Trainer(tiny_experiment, train_digits, out_dir=tmp_path, progress=False)
    first.fit(2)
    first.model.save(tmp_path / "half.pt", {"step": 2}, half=True)
    second = Trainer(tiny_experiment, train_digits, progress=False)
    second.warm_start(tmp_path / "half.pt")
    assert second.step == 2
    w = second.model.decoder.out.weight
    assert torch.allclose(w, first.model.decoder.out.weight, atol=1e-3)
    other = Trainer(with_overrides(tiny_experiment, {"model.pose_dim": 3}), train_digits, progress=False)
    with pytest.raises(CheckpointError, match="model.pose_dim"):
        other.warm_start(tmp_path / "half.pt")


def test_fp16_on_cpu_is_refused_with_advice(tiny_experiment, train_digits):
    from drnet_core.config import with_overrides

    with pytest.raises(ValueError, match="bf16"):
        Trainer(with_overrides(tiny_experiment, {"train.precision": "fp16", "train.device": "cpu"}), train_digits, progress=False)


def test_evaluation_hook_lands_in_the_log(tiny_experiment, train_digits, tmp_path):
    from drnet_core.config import with_overrides

    calls = []

    def evaluate(model):
        calls.append(model.training)
        return {"swap_accuracy": 0.25}

    exp = with_overrides(tiny_experiment, {"train.eval_every": 4})
    Trainer(exp, train_digits, out_dir=tmp_path, evaluate=evaluate, progress=False).fit(8)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "eval_swap_accuracy" in r] == [4, 8]
    assert calls == [False, False], "evaluation runs in eval mode"


def test_learning_rate_drops_at_the_configured_step_and_the_optimisers_follow(tiny_experiment, train_digits):
    from drnet_core.config import with_overrides

    exp = with_overrides(tiny_experiment, {"train.lr_milestones": (2,), "train.lr_drop_factor": 0.1})
    trainer = Trainer(exp, train_digits, progress=False)
    assert trainer.learning_rate(1) == exp.train.lr and abs(trainer.learning_rate(2) - 0.1 * exp.train.lr) < 1e-12
    trainer.fit(3)
    assert all(abs(g["lr"] - 0.1 * exp.train.lr) < 1e-12 for opt in (trainer.opt_main, trainer.opt_disc) for g in opt.param_groups)
    never = Trainer(tiny_experiment, train_digits, progress=False)
    assert never.learning_rate(10**6) == tiny_experiment.train.lr


def test_second_learning_rate_drop_multiplies_the_factor_again(tiny_experiment, train_digits):
    from drnet_core.config import with_overrides

    exp = with_overrides(tiny_experiment, {"train.lr_milestones": (2, 4), "train.lr_drop_factor": 0.1})
    trainer = Trainer(exp, train_digits, progress=False)
    lr = exp.train.lr
    assert [round(trainer.learning_rate(s) / lr, 6) for s in (1, 2, 3, 4, 9)] == [1.0, 0.1, 0.1, 0.01, 0.01]
    trainer.fit(5)
    assert all(abs(g["lr"] - 0.01 * lr) < 1e-12 for opt in (trainer.opt_main, trainer.opt_disc) for g in opt.param_groups)
