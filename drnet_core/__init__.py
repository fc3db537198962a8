"""drnet_core: a small PyTorch library that reproduces DRNET (Denton & Birodkar, NIPS 2017).

Public API::

    import drnet_core
    model = drnet_core.DRNet.load("checkpoints/mnist_cpu.pt")
    exp = drnet_core.experiment("mnist")          # settings of the current DRNET_PROFILE
"""

__version__ = "0.1.0"

from drnet_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from drnet_core.config import DataConfig, Experiment, ModelConfig, TrainConfig, current_profile, experiment  # noqa: E402
from drnet_core.model import DRNet  # noqa: E402
from drnet_core.predict import Predictor, PredictorConfig  # noqa: E402
from drnet_core.train import NonFiniteLossError, Trainer  # noqa: E402

__all__ = [
    "CheckpointError",
    "DRNet",
    "DataConfig",
    "Experiment",
    "ModelConfig",
    "NonFiniteLossError",
    "Predictor",
    "PredictorConfig",
    "TrainConfig",
    "Trainer",
    "__version__",
    "current_profile",
    "experiment",
    "load_checkpoint",
    "save_checkpoint",
]
