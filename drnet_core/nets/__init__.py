"""Network building blocks: DCGAN and ResNet-18 encoders, the DCGAN decoder and the small heads (scene discriminator C)."""

from drnet_core.nets.dcgan import DCGANDecoder, DCGANEncoder, init_weights
from drnet_core.nets.heads import SceneDiscriminator
from drnet_core.nets.resnet import ResNetEncoder

__all__ = ["DCGANDecoder", "DCGANEncoder", "ResNetEncoder", "SceneDiscriminator", "init_weights"]
