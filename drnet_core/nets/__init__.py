"""Network building blocks: DCGAN, ResNet-18 and VGG16 encoders, the DCGAN and VGG decoders and the small heads (scene discriminator C)."""

from drnet_core.nets.dcgan import DCGANDecoder, DCGANEncoder, init_weights
from drnet_core.nets.heads import SceneDiscriminator
from drnet_core.nets.resnet import ResNetEncoder
from drnet_core.nets.vgg import VGGDecoder, VGGEncoder

__all__ = ["DCGANDecoder", "DCGANEncoder", "ResNetEncoder", "SceneDiscriminator", "VGGDecoder", "VGGEncoder", "init_weights"]
