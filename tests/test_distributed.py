"""Multi-process training (gloo, 2 processes on CPU) against one process with the same global batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from drnet_core.config import experiment
from drnet_core.distributed import CrossRankBatchNorm, DistInfo, convert_sync_batchnorm
from drnet_core.train import Trainer, roll_within_groups

STEPS = 3


def _experiment():
    sizes = {"model.nf": 4, "train.batch_size": 8, "train.max_offset": 3, "data.seq_len": 6, "train.sync_bn": True}
    return experiment("mnist", "ci", **sizes, **{"train.log_every": 1, "train.checkpoint_every": STEPS, "train.channels_last": False})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str, steps: int = STEPS) -> None:
    import torch.distributed as dist

    from data_utils import MovingMNIST

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        trainer = Trainer(_experiment(), MovingMNIST("train", seq_len=6), out_dir=out_dir, progress=False, dist_info=DistInfo(rank, world, rank))
        trainer.fit(steps)
    finally:
        dist.destroy_process_group()


def _worker_saving_each_rank(rank: int, world: int, port: int, out_dir: str, sync_bn: bool) -> None:
    """Train like ``_worker``, then save this rank's own weights and BatchNorm statistics."""
    import torch.distributed as dist

    from data_utils import MovingMNIST
    from drnet_core.config import with_overrides

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        exp = with_overrides(_experiment(), {"train.sync_bn": sync_bn})
        trainer = Trainer(exp, MovingMNIST("train", seq_len=6), progress=False, dist_info=DistInfo(rank, world, rank))
        trainer.fit(STEPS)
        torch.save(trainer.model.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_without_sync_bn_ranks_share_weights_but_keep_their_own_batch_statistics(tmp_path):
    """``sync_bn=false``: gradients are still averaged (the weights stay identical on every rank), while each rank's
    BatchNorm normalises its own slice (its running statistics differ from the other rank's). With ``sync_bn=true``
    the statistics are the global batch's, the same on both ranks."""
    states = {}
    for sync_bn in (False, True):
        out = tmp_path / f"sync{sync_bn}"
        out.mkdir()
        mp.spawn(_worker_saving_each_rank, args=(2, _free_port(), str(out), sync_bn), nprocs=2, join=True)
        states[sync_bn] = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for sync_bn, (rank0, rank1) in states.items():
        weights = [k for k in rank0 if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
        statistics = [k for k in rank0 if k.endswith(("running_mean", "running_var"))]
        assert statistics and all(torch.allclose(rank0[k], rank1[k], atol=1e-6) for k in weights), sync_bn
        same_statistics = all(torch.allclose(rank0[k], rank1[k], atol=1e-6) for k in statistics)
        assert same_statistics == sync_bn


def test_roll_within_groups_never_pairs_a_sample_with_itself():
    x = torch.arange(8)[:, None]
    assert roll_within_groups(x, 1).flatten().tolist() == [7, 0, 1, 2, 3, 4, 5, 6]
    assert roll_within_groups(x, 2).flatten().tolist() == [3, 0, 1, 2, 7, 4, 5, 6]


def test_convert_keeps_the_state_dict_and_is_plain_bn_in_one_process():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3))
    net[1].running_mean.fill_(0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    reference = torch.nn.BatchNorm2d(3)
    reference.load_state_dict(net[1].state_dict())
    convert_sync_batchnorm(net)
    assert isinstance(net[1], CrossRankBatchNorm) and net.state_dict().keys() == before.keys()
    x = torch.randn(4, 3, 5, 5)
    assert torch.allclose(net[1](x), reference(x), atol=1e-6)


def test_two_gloo_processes_match_one_process(tmp_path):
    from data_utils import MovingMNIST

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp")), nprocs=2, join=True)
    single = Trainer(_experiment(), MovingMNIST("train", seq_len=6), out_dir=tmp_path / "single", progress=False)
    single.negative_groups = 2  # the same negatives as two ranks rolling their own halves
    single.fit(STEPS)
    ddp_state = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True)
    fresh = Trainer(_experiment(), MovingMNIST("train", seq_len=6), progress=False).model.state_dict()
    # Adam moves a weight by about lr whatever its gradient's size, so where a gradient is near zero, float noise of
    # another summation order (one process of 2 threads against two of 1, and other CPUs' kernels) flips the step:
    # single weights may differ by a fraction of lr. What must agree is the training as a whole: the two runs'
    # updates differ by a small fraction of the update itself. A rank that trained on its own half of the batch,
    # or missed the other's gradient, differs by the order of the update.
    moved = differ = 0.0
    for name, value in single.model.state_dict().items():
        if not value.is_floating_point():
            assert torch.equal(ddp_state[name], value), name
            continue
        update, ddp_update = value.float() - fresh[name].float(), ddp_state[name].float() - fresh[name].float()
        moved += update.pow(2).sum().item()
        differ += (ddp_update - update).pow(2).sum().item()
    assert moved > 0, "the runs trained: the weights moved from the initialisation"
    assert differ**0.5 <= 0.05 * moved**0.5, f"the two-process update differs from one process's by {(differ / moved) ** 0.5:.3f} of its size"


def test_ddp_run_resumes_in_one_process(tmp_path):
    """A checkpoint of two gloo processes resumes in one process (rolling the two ranks' negatives, as a single
    process reproduces two ranks) and continues as the two processes would have: the weights, the BatchNorm
    statistics and Adam's moments all match a two-process run that never stopped."""
    from data_utils import MovingMNIST

    more = STEPS + 2
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "stopped")), nprocs=2, join=True)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "through"), more), nprocs=2, join=True)
    resumed = Trainer(_experiment(), MovingMNIST("train", seq_len=6), out_dir=tmp_path / "stopped", progress=False)
    assert resumed.resume_if_possible() and resumed.step == STEPS
    at_resume = {k: v.clone() for k, v in resumed.model.state_dict().items()}
    resumed.negative_groups = 2
    resumed.fit(more)
    assert resumed.step == more
    # Adam's first steps amplify float noise (1e-5 in the weights becomes 1e-3 a step later; one process against
    # two differs by 3e-3 after 5 steps), but two processes continued in one stay within 1e-6 of two throughout
    close = lambda a, b: torch.allclose(a.float(), b.float(), atol=2e-5, rtol=1e-4)  # noqa: E731
    through = torch.load(tmp_path / "through" / "trainer_state.pt", weights_only=True)
    for name, value in through["model"].items():
        assert close(resumed.model.state_dict()[name], value), name
    for name in ("opt_main", "opt_disc"):
        mine, theirs = getattr(resumed, name).state_dict()["state"], through[name]["state"]
        assert mine.keys() == theirs.keys(), name
        assert all(close(mine[i][m], theirs[i][m]) for i in theirs for m in ("exp_avg", "exp_avg_sq")), name
    # the comparison can tell: the two steps after the resume moved the weights far beyond its tolerance
    assert any(not close(at_resume[k], v) for k, v in resumed.model.state_dict().items() if v.is_floating_point())
