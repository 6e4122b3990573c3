"""ResNet-18 trunk in plain torch (no torchvision), the feature extractor of LSTM-ELU.

He et al. (2016) ResNet-18 layout as used by seed 004 (Gowthami & Jayaseelan, IJ-AI 15(2) 2026;
spec: docs/models.md §4.3): a stem, then four stages of two :class:`BasicBlock` each with widths
(w, 2w, 4w, 8w), strides (1, 2, 2, 2). ``width=64`` with ``stem="imagenet"`` is the standard
ResNet-18 (11.2 M parameters); the CPU default is ``width=8`` with the cheap ``"small"`` stem.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

__all__ = ["BasicBlock", "ResNetTrunk", "STEMS", "trunk_reduction"]

STEMS = ("small", "imagenet")


def _check_choice(name: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _check_positive_int(name: str, value: object, low: int = 1) -> int:
    """``value`` as a Python int (NumPy integers accepted) if it is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


class BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN plus shortcut, then ReLU.

    The shortcut is the identity, or a 1x1 conv + BN projection when the shape changes.

    Shape:
        - Input: ``(B, in_ch, H, W)``
        - Output: ``(B, out_ch, ceil(H / stride), ceil(W / stride))``
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNetTrunk(nn.Module):
    """ResNet-18 trunk without the classifier head (docs/models.md §4.3).

    Stems: ``"small"`` = Conv 3x3/2 + BN + ReLU (total stride 16, 64² -> 4²);
    ``"imagenet"`` = Conv 7x7/2 + BN + ReLU + MaxPool 3x3/2 (total stride 32, 224² -> 7²).

    Shape:
        - Input: ``(B, in_ch, H, W)``
        - Output: ``(B, 8 * width, H', W')`` with ``H' = trunk_reduction(H, stem)``
    """

    def __init__(self, in_ch: int = 1, width: int = 8, stem: str = "small") -> None:
        super().__init__()
        in_ch = _check_positive_int("in_ch", in_ch)
        width = _check_positive_int("width", width)
        _check_choice("stem", stem, STEMS)
        self.width, self.stem_name = width, stem
        if stem == "small":
            self.stem = nn.Sequential(
                nn.Conv2d(in_ch, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_ch, width, 7, 2, 3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, 1),
            )
        widths = (width, 2 * width, 4 * width, 8 * width)
        stages, c_in = [], width
        for i, c_out in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out)))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.out_channels = 8 * width

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(self.stem(x))


def trunk_reduction(size: int, stem: str = "small") -> int:
    """Spatial size of the stage-4 map for an input side ``size`` (conv arithmetic, padding 1)."""
    _check_choice("stem", stem, STEMS)

    def down(n: int, k: int, s: int, p: int) -> int:
        return (n + 2 * p - k) // s + 1

    n = down(size, 3, 2, 1) if stem == "small" else down(down(size, 7, 2, 3), 3, 2, 1)
    for _ in range(3):  # stages 2-4, stride 2, kernel 3, padding 1
        n = down(n, 3, 2, 1)
    return n
