import pytest
import torch

from data_utils import MovingMNIST
from data_utils.pairs import draw_offsets, pick_pairs


@pytest.fixture(scope="module")
def data():
    return MovingMNIST("train", seq_len=12)


def test_shape_range_and_blue_is_empty(data):
    clips = data.sample(8, 0)
    assert clips.shape == (8, 12, 3, 64, 64) and clips.dtype == torch.float32
    assert clips.min() >= 0 and clips.max() <= 1
    assert clips[:, :, 2].abs().sum() == 0
    assert clips[:, :, 0].sum() > 0 and clips[:, :, 1].sum() > 0


def test_digits_stay_inside_the_canvas_and_in_their_channel(data):
    specs = data.specs(16, 1)
    assert specs.positions.min() >= 0 and specs.positions.max() <= data.limit
    clips = data.render(specs)
    for d in range(2):
        # every inked pixel of channel d lies inside digit d's 32×32 box
        box = torch.zeros_like(clips[:, :, d], dtype=torch.bool)
        for b in range(16):
            for t in range(12):
                r, c = specs.positions[b, t, d].tolist()
                box[b, t, r : r + 32, c : c + 32] = True
        assert (clips[:, :, d][~box] == 0).all()


def test_bounces_reverse_the_velocity():
    data = MovingMNIST("test", seq_len=60, max_speed=4)
    pos = data.specs(32, 3).positions.float()
    step = pos[:, 1:] - pos[:, :-1]
    assert step.abs().max() <= 4
    # somewhere a coordinate moved towards a wall and then away from it
    flips = (step[:, 1:] * step[:, :-1] < 0).any()
    assert flips


def test_occlusion_front_digit_hides_the_back_one(data):
    specs = data.specs(32, 5)
    clips = data.render(specs)
    front = specs.depth.argmax(1)
    for b in range(32):
        f, back = front[b].item(), 1 - front[b].item()
        assert (clips[b, :, back][clips[b, :, f] > 0] == 0).all()


def test_seed_gives_the_same_clips_and_test_set_is_fixed(data):
    assert torch.equal(data.sample(4, 42), data.sample(4, 42))
    assert not torch.equal(data.sample(4, 42), data.sample(4, 43))
    a, b = MovingMNIST("test", seq_len=12).fixed_specs(50), MovingMNIST("test", seq_len=12).fixed_specs(50)
    assert torch.equal(a.positions, b.positions) and torch.equal(a.digit_ids, b.digit_ids)
    test = MovingMNIST("test", seq_len=12)
    assert not torch.equal(test.digits[:100], data.digits[:100])  # test clips use the test digits


def test_pairs_are_frames_of_the_same_clip(data):
    gen = torch.Generator().manual_seed(0)
    x_t, x_tk = data.sample_pairs(10, 5, gen)
    assert x_t.shape == x_tk.shape == (10, 3, 64, 64)
    t, k = draw_offsets(1000, 12, 5, torch.Generator().manual_seed(1))
    assert k.min() == 0 and k.max() == 5 and (t + k).max() <= 11 and t.min() == 0
    clips = data.sample(3, 9)
    a, b = pick_pairs(clips, 0, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)  # K = 0 gives the same frame


def test_offsets_longer_than_the_clip_are_refused():
    with pytest.raises(ValueError, match="too short"):
        draw_offsets(4, 5, 10, torch.Generator())


def test_one_digit_and_grey_variants():
    grey = MovingMNIST("train", seq_len=4, colour=False).sample(3, 0)
    assert grey.shape == (3, 4, 1, 64, 64)
    one = MovingMNIST("train", seq_len=4, num_digits=1).sample(3, 0)
    assert one[:, :, 1:].abs().sum() == 0 and one[:, :, 0].sum() > 0


def _two_digit_specs(data, positions, depth):
    from data_utils.moving_mnist import ClipSpecs

    return ClipSpecs(torch.tensor([[0, 1]]), torch.tensor([[positions]]), torch.tensor([depth]))


def test_visible_patches_hide_exactly_what_the_front_digit_covers(data):
    apart = _two_digit_specs(data, [[0, 0], [32, 32]], [0, 1])
    assert data.visible_patches(apart).all(), "digits that do not overlap hide nothing"
    stacked = _two_digit_specs(data, [[10, 10], [10, 10]], [0, 1])  # digit 1 in front, on top of digit 0
    visible = data.visible_patches(stacked)[0, 0]
    front_ink = data.digits[1].float() > 0
    assert visible[1].all(), "nothing is in front of the front digit"
    assert torch.equal(visible[0], ~front_ink), "the back digit loses exactly the front digit's ink"
    # the rendered back channel shows the back digit's ink only where visible_patches says so
    frame = data.render(stacked)[0, 0]
    assert torch.equal(frame[0, 10:42, 10:42] > 0, (data.digits[0] > 0) & visible[0])


def test_patch_masks_carry_the_holes_to_new_positions(data):
    stacked = _two_digit_specs(data, [[10, 10], [10, 10]], [0, 1])
    moved = _two_digit_specs(data, [[0, 0], [32, 32]], [0, 1])  # the same digits, apart
    full = data.render(moved)[0, 0]
    shown = data.render(moved, patch_masks=data.visible_patches(stacked))[0, 0]
    assert torch.equal(shown[1], full[1]), "the front digit was fully visible"
    hidden_ink = (data.digits[0] > 0) & (data.digits[1] > 0)
    assert hidden_ink.any()
    assert torch.equal(shown[0, :32, :32] > 0, (data.digits[0] > 0) & ~(data.digits[1] > 0))
    assert shown[0].sum() < full[0].sum()
    assert torch.equal(data.render(moved, patch_masks=data.visible_patches(moved)), data.render(moved))


def test_sample_pairs_renders_only_the_asked_rows_and_they_are_the_whole_batchs_rows():
    """One rank's share of a batch (torchrun) is exactly those rows of the batch one process would draw."""
    data = MovingMNIST("train", seq_len=8)
    whole = data.sample_pairs(8, 4, torch.Generator().manual_seed(3))
    for rows in (slice(0, 4), slice(4, 8), slice(2, 6)):
        part = data.sample_pairs(8, 4, torch.Generator().manual_seed(3), rows=rows)
        assert part[0].shape[0] == 4
        assert torch.equal(part[0], whole[0][rows]) and torch.equal(part[1], whole[1][rows])
