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


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    from data_utils import MovingMNIST

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        trainer = Trainer(_experiment(), MovingMNIST("train", seq_len=6), out_dir=out_dir, progress=False, dist_info=DistInfo(rank, world, rank))
        trainer.fit(STEPS)
    finally:
        dist.destroy_process_group()


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
    ddp_state, _ = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True), None
    for name, value in single.model.state_dict().items():
        assert torch.allclose(ddp_state[name].float(), value.float(), atol=2e-4, rtol=1e-3), name
    # and the two runs really trained: the weights moved from the initialisation
    fresh = Trainer(_experiment(), MovingMNIST("train", seq_len=6), progress=False).model.state_dict()
    assert any(not torch.allclose(fresh[k].float(), v.float()) for k, v in single.model.state_dict().items() if v.is_floating_point())


def test_ddp_run_resumes_in_one_process(tmp_path):
    from data_utils import MovingMNIST

    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    exp = _experiment()
    trainer = Trainer(exp, MovingMNIST("train", seq_len=6), out_dir=tmp_path, progress=False)
    assert trainer.resume_if_possible() and trainer.step == STEPS
    trainer.fit(STEPS + 1)
    assert trainer.step == STEPS + 1
