"""Network building blocks: DCGAN encoders/decoder and the small heads (scene discriminator C)."""

from drnet_core.nets.dcgan import DCGANDecoder, DCGANEncoder, init_weights
from drnet_core.nets.heads import SceneDiscriminator

__all__ = ["DCGANDecoder", "DCGANEncoder", "SceneDiscriminator", "init_weights"]
