"""Plain `nn.Module` backbones. Each is built as `Model(input_shape, num_outputs, **options)`,
so a task can construct it from the data module's shape without numbers repeated in YAML."""

from litlab.models.airbench_net import AirbenchNet
from litlab.models.mlp import MLP
from litlab.models.resnet9 import ResNet9
from litlab.models.simple_cnn import SimpleCNN
from litlab.models.torchvision_backbone import TorchvisionBackbone

__all__ = ["AirbenchNet", "MLP", "ResNet9", "SimpleCNN", "TorchvisionBackbone"]
