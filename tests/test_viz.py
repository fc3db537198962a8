import torch

from drnet_core import DRNet, ModelConfig
from drnet_core.viz import image_grid, plot_curves, pose_interpolation, swap_grid


def test_swap_grid_layout_and_cells(lively):
    torch.manual_seed(0)
    model = lively(DRNet(ModelConfig(nf=4)).eval())  # frames that differ by content and pose (a fresh decoder draws 0.5)
    content, pose = torch.rand(2, 3, 64, 64), torch.rand(3, 3, 64, 64)
    grid = swap_grid(model, content, pose)
    assert grid.shape == (3, 4, 3, 64, 64)
    assert torch.equal(grid[0, 1:], pose) and torch.equal(grid[1:, 0], content) and (grid[0, 0] == 1).all()
    with torch.no_grad():
        cells = torch.stack([torch.cat([model.swap(c[None], p[None]) for p in pose]) for c in content])
    assert torch.allclose(grid[1:, 1:], cells, atol=1e-5), "row i, column j: content i with pose j"
    assert (cells[0, 0] - cells[1, 0]).abs().amax() > 0.05 and (cells[0, 0] - cells[0, 1]).abs().amax() > 0.05
    assert image_grid(grid).shape == (3 * 66 + 2, 4 * 66 + 2, 3)


def test_pose_interpolation_ends_at_the_two_poses(lively):
    torch.manual_seed(0)
    model = lively(DRNet(ModelConfig(nf=4)).eval())
    c, a, b = torch.rand(3, 3, 64, 64)
    frames = pose_interpolation(model, c, a, b, steps=5)
    assert frames.shape == (5, 3, 64, 64)
    assert torch.allclose(frames[0], model.swap(c[None], a[None])[0], atol=1e-5)
    assert torch.allclose(frames[-1], model.swap(c[None], b[None])[0], atol=1e-5)


def test_plot_curves_draws_one_panel_per_metric():
    records = [{"step": s, "rec": 10.0 / s, "disc_acc": 0.5} for s in range(1, 6)]
    fig = plot_curves(records, ["rec", "disc_acc"], reference={"disc_acc": 0.5}, ncols=2)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 1 and len(fig.axes[1].lines) == 2
