"""DRNet: the content encoder E_c, pose encoder E_p, decoder D and scene discriminator C (paper section 3).

The public API used by the chapters and by outside users::

    model = DRNet.load("checkpoints/mnist_cpu.pt")
    h_c = model.encode_content(x)      # (B, |h_c|)
    h_p = model.encode_pose(x)         # (B, |h_p|)
    x̃ = model.decode(h_c, h_p)        # (B, 3, 64, 64) in [0, 1]

``x`` is (B, C, 64, 64), float in [0, 1]. Taught in book/02_moving_mnist.ipynb.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from drnet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from drnet_core.config import ModelConfig
from drnet_core.nets import DCGANDecoder, DCGANEncoder, ResNetEncoder, SceneDiscriminator, VGGDecoder, VGGEncoder, init_weights

ARCHITECTURES = {
    "dcgan": "E_c, E_p and D all DCGAN-64 (MNIST, section 4.1)",
    "resnet18": "E_c and E_p ResNet-18 up to the final pooling, D DCGAN-64 (NORB and SUNCG, section 4.1)",
    "vgg_resnet": "E_c VGG16 with U-Net skips, E_p ResNet-18, D the mirrored VGG (KTH, section 4.1)",
    "vgg_ae": "the AE-LSTM baseline (section 4.3): one VGG16 encoder with U-Net skips, its features mix content and pose",
}


class _SharedEncoderView:
    """One view of the AE baseline's single encoder, so that the trainer and the predictor can treat it like a DRNet.

    ``part="code"`` returns the encoder's features (they play the pose's role: the LSTM predicts them);
    ``part="skips"`` returns an empty (B, 0) content code and the U-Net skips. Not an ``nn.Module``: the
    weights are registered once, as ``DRNet.encoder``.
    """

    def __init__(self, encoder: nn.Module, part: str) -> None:
        self.encoder, self.part = encoder, part

    def __call__(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        code, skips = self.encoder(x)
        if self.part == "code":
            return code
        return code.new_zeros(code.shape[0], 0), skips


class DRNet(nn.Module):
    """E_c, E_p, D and C for one configuration (:class:`~drnet_core.config.ModelConfig`)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        if config.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {config.architecture!r} is not available; choose one of: {ARCHITECTURES}")
        if config.image_size != 64:
            raise ValueError(f"the networks take 64×64 frames, config asks for {config.image_size}")
        if config.architecture == "dcgan":
            self.content_encoder = DCGANEncoder(config.content_dim, config.channels, config.nf, config.code_norm, return_skips=config.skips)
            self.pose_encoder = DCGANEncoder(config.pose_dim, config.channels, config.nf, config.code_norm)
        elif config.architecture == "vgg_ae":
            if not config.skips or config.content_dim != 0:
                raise ValueError("the AE baseline (vgg_ae) has one encoder with U-Net skips: set skips=True, content_dim=0 and the feature size in pose_dim")
            self.encoder = VGGEncoder(config.pose_dim, config.channels, config.nf, config.code_norm)
            self.content_encoder = _SharedEncoderView(self.encoder, "skips")
            self.pose_encoder = _SharedEncoderView(self.encoder, "code")
        elif config.architecture == "vgg_resnet":
            if not config.skips:
                raise ValueError("the KTH model (vgg_resnet) always has U-Net skips; set skips=True")
            self.content_encoder = VGGEncoder(config.content_dim, config.channels, config.nf, config.code_norm)
            self.pose_encoder = ResNetEncoder(config.pose_dim, config.channels, config.nf, config.code_norm)
        else:
            if config.skips:
                raise ValueError("the ResNet-18 content encoder has no U-Net skips; set skips=False")
            self.content_encoder = ResNetEncoder(config.content_dim, config.channels, config.nf, config.code_norm)
            self.pose_encoder = ResNetEncoder(config.pose_dim, config.channels, config.nf, config.code_norm)
        if config.architecture in ("vgg_resnet", "vgg_ae"):
            self.decoder = VGGDecoder(config.content_dim, config.pose_dim, config.channels, config.nf)
        else:
            self.decoder = DCGANDecoder(config.content_dim, config.pose_dim, config.channels, config.nf, skips=config.skips)
        self.discriminator = SceneDiscriminator(config.pose_dim, config.disc_hidden)
        self.apply(init_weights)
        self.checkpoint_info: dict = {}  # the sidecar's metadata, filled by DRNet.load

    # -- the public API -------------------------------------------------------------------------
    def _check_frames(self, x: torch.Tensor) -> None:
        c, s = self.config.channels, self.config.image_size
        if x.ndim != 4 or tuple(x.shape[1:]) != (c, s, s):
            raise ValueError(f"expected frames shaped (B, {c}, {s}, {s}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected float frames in [0, 1], got dtype {x.dtype}; divide uint8 frames by 255")

    def encode_content(self, x: torch.Tensor, return_skips: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """h_c = E_c(x): (B, |h_c|). With U-Net skips and ``return_skips``, also the skip tensors."""
        self._check_frames(x)
        out = self.content_encoder(x)
        if self.config.skips:
            return out if return_skips else out[0]
        return (out, None) if return_skips else out

    def encode_clip_content(self, clip: torch.Tensor) -> torch.Tensor:
        """The content of a whole clip (B, T, C, H, W): h_c averaged over its T frames, (B, |h_c|).

        The similarity loss (eq. 2) makes h_c the same at every time of a clip, so its mean is the clip's
        content with each frame's accidents averaged out, such as one digit hiding behind the other. Unit-norm
        codes (the paper) are renormalised. Models with U-Net skips need a frame's skips: use ``encode_content``.
        """
        if clip.ndim != 5:
            raise ValueError(f"expected a clip shaped (B, T, C, H, W), got {tuple(clip.shape)}")
        if self.config.skips:
            raise ValueError("a model with U-Net skips decodes from one frame's skips: use encode_content on that frame")
        codes = self.encode_content(clip.flatten(0, 1)).view(clip.shape[0], clip.shape[1], -1).mean(1)
        return torch.nn.functional.normalize(codes, dim=1) if self.config.code_norm == "l2" else codes

    def encode_pose(self, x: torch.Tensor) -> torch.Tensor:
        """h_p = E_p(x): (B, |h_p|)."""
        self._check_frames(x)
        return self.pose_encoder(x)

    def decode(self, content: torch.Tensor, pose: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        """x̃ = D(h_c, h_p): (B, C, 64, 64) in [0, 1]. A skip model needs the content frame's ``skips``."""
        return self.decoder(content, pose, skips)

    @torch.no_grad()
    def swap(self, content_frames: torch.Tensor, pose_frames: torch.Tensor) -> torch.Tensor:
        """Decode the content of ``content_frames`` with the pose of ``pose_frames`` (row-wise pairs)."""
        content, skips = self.encode_content(content_frames, return_skips=True)
        return self.decode(content, self.encode_pose(pose_frames), skips)

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self, path: str | Path, metadata: dict | None = None, half: bool = False, storage: str | None = None) -> Path:
        """Write NAME.pt (state_dict) and NAME.json (config, sha256, ``metadata``) atomically.

        ``half`` or ``storage`` ("float32", "float16", "int8") choose how the weights are stored (checkpoint.py).
        """
        return save_checkpoint(path, self.state_dict(), {"model": dataclasses.asdict(self.config)}, metadata, half=half, storage=storage)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> DRNet:
        """Rebuild a DRNet from a checkpoint, checking its hash; returned in ``eval()`` mode."""
        state, sidecar = load_checkpoint(path, map_location=map_location)
        raw = sidecar["config"].get("model")
        if raw is None:
            raise CheckpointError(f"{path}: sidecar config has no 'model' section; is this a DRNet checkpoint?")
        try:
            config = ModelConfig(**raw)
        except TypeError as err:
            raise CheckpointError(f"{path}: model config does not match this version of drnet_core ({err})") from err
        model = cls(config)
        state = state.get("model", state)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: weights do not fit the config in its sidecar: {err}") from err
        model.checkpoint_info = {k: v for k, v in sidecar.items() if k != "config"}
        model.checkpoint_info.setdefault("profile", sidecar["config"].get("profile"))
        return model.eval()
