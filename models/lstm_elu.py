"""LSTM-ELU classifier: ResNet-18 trunk, then an LSTM whose squashing function is ELU.

Seed 004 (Gowthami & Jayaseelan, IJ-AI 15(2) 2026; spec: docs/models.md §4.3). The stage-4
feature map is read row by row (top to bottom) as a sequence; the recurrent cell replaces tanh by
ELU_alpha (the paper's Eq. 15 alpha is ``elu_alpha``) while the gates stay sigmoid by default::

    z = W [h_{t-1}, x_t] + b -> (i, f, o, u)      forget-gate bias initialised to 1
    c_t = f * c_{t-1} + i * ELU(u);   h_t = o * ELU(c_t)
    logits = Linear(Dropout(ELU(h_T)))
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from metaheur.models.resnet import ResNetTrunk, _check_choice, _check_positive_int, trunk_reduction

__all__ = ["LSTMELUCell", "LSTMELU", "LSTMELUNet", "GATES", "CELL_ACTS", "SEQUENCES"]

GATES = ("sigmoid", "elu")
CELL_ACTS = ("elu", "tanh")
SEQUENCES = ("rows_mean", "rows_flat")


def _check_float(name: str, value: object, lo: float, hi: float, *, lo_open: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)  # NumPy's too
    ok = ok and (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


class LSTMELUCell(nn.Module):
    """One LSTM-ELU cell step (docs/models.md §4.3): sigmoid (or clamped-ELU) gates, ELU squashing.

    ``W`` acts on ``[h_{t-1}, x_t]`` and has one bias (no second recurrent bias as in
    ``nn.LSTM``). ``gate="elu"`` is the literal "ELU instead of sigmoid" reading,
    ``clamp(ELU(.), 0, 1)``; ``cell_act="tanh"`` gives the standard LSTM.

    Shape:
        - Input: ``x_t`` ``(B, input_size)``, state ``(h, c)`` each ``(B, hidden)``
        - Output: ``(h_t, c_t)`` each ``(B, hidden)``
    """

    def __init__(
        self,
        input_size: int,
        hidden: int = 64,
        elu_alpha: float = 1.0,
        gate: str = "sigmoid",
        cell_act: str = "elu",
    ) -> None:
        super().__init__()
        input_size = _check_positive_int("input_size", input_size)
        hidden = _check_positive_int("hidden", hidden)
        elu_alpha = _check_float("elu_alpha", elu_alpha, 0.0, 10.0, lo_open=True)
        _check_choice("gate", gate, GATES)
        _check_choice("cell_act", cell_act, CELL_ACTS)
        self.input_size, self.hidden = input_size, hidden
        self.elu_alpha, self.gate, self.cell_act = elu_alpha, gate, cell_act
        self.linear = nn.Linear(hidden + input_size, 4 * hidden)  # columns: [h, x]
        with torch.no_grad():
            self.linear.bias.zero_()
            self.linear.bias[hidden : 2 * hidden] = 1.0  # forget gate

    def _gate(self, z: Tensor) -> Tensor:
        if self.gate == "sigmoid":
            return torch.sigmoid(z)
        return F.elu(z, self.elu_alpha).clamp(0.0, 1.0)

    def _squash(self, z: Tensor) -> Tensor:
        return F.elu(z, self.elu_alpha) if self.cell_act == "elu" else torch.tanh(z)

    def input_projection(self, x: Tensor) -> Tensor:
        """``W_x x + b`` for a whole sequence at once: ``(B, T, input) -> (B, T, 4 hidden)``."""
        return F.linear(x, self.linear.weight[:, self.hidden :], self.linear.bias)

    def recurrent_weight(self) -> Tensor:
        """``W_h``, the columns of ``W`` acting on ``h`` (a view: its gradient flows to ``W``)."""
        return self.linear.weight[:, : self.hidden]

    def step(self, zx: Tensor, h: Tensor, c: Tensor, w_h: Tensor | None = None
             ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """One step given the precomputed input projection ``zx`` ``(B, 4 hidden)``.

        ``w_h``: :meth:`recurrent_weight`, taken once per sequence by a caller that loops over
        time; sliced here when omitted. One view for all steps gives the same numbers as a
        slice per step, but its backward pass scatters into a zero-filled copy of ``W`` once
        per sequence instead of once per step.
        """
        z = zx + F.linear(h, self.recurrent_weight() if w_h is None else w_h)
        i, f, o, u = z.chunk(4, dim=-1)
        c = self._gate(f) * c + self._gate(i) * self._squash(u)
        h = self._gate(o) * self._squash(c)
        return h, c

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        return self.step(self.input_projection(x), h, c)


class LSTMELU(nn.Module):
    """``layers`` stacked :class:`LSTMELUCell` run as an explicit loop over time (T <= 8).

    Shape:
        - Input: ``(B, T, input_size)``
        - Output: ``(B, hidden)``, the last layer's ``h_T``
    """

    def __init__(
        self,
        input_size: int,
        hidden: int = 64,
        layers: int = 1,
        elu_alpha: float = 1.0,
        gate: str = "sigmoid",
        cell_act: str = "elu",
    ) -> None:
        super().__init__()
        layers = _check_positive_int("layers", layers)
        hidden = _check_positive_int("hidden", hidden)
        sizes = [input_size] + [hidden] * (layers - 1)
        self.cells = nn.ModuleList(
            LSTMELUCell(n_in, hidden, elu_alpha, gate, cell_act) for n_in in sizes
        )
        self.hidden = hidden

    def forward(self, x: Tensor) -> Tensor:
        """The recurrence runs in float32 even under autocast: the cell state accumulates over
        T steps and ELU's positive side is unbounded, so bf16's 8-bit mantissa would drift."""
        B, T, _ = x.shape
        with torch.autocast(x.device.type, enabled=False):
            return self._run(x.float(), B, T)

    def _run(self, x: Tensor, B: int, T: int) -> Tensor:
        seq = x
        for cell in self.cells:
            zx = cell.input_projection(seq)  # (B, T, 4 hidden), one matmul for all steps
            w_h = cell.recurrent_weight()  # one view for all steps (see LSTMELUCell.step)
            h = c = zx.new_zeros(B, self.hidden)
            outs = []
            for zx_t in zx.unbind(1):  # views as zx[:, t], with one backward node for all t
                h, c = cell.step(zx_t, h, c, w_h)
                outs.append(h)
            seq = torch.stack(outs, dim=1)
        return seq[:, -1]


class LSTMELUNet(nn.Module):
    """ResNet-18 trunk -> row sequence -> LSTM-ELU -> ELU -> Dropout -> Linear
    (docs/models.md §4.3).

    ``sequence="rows_mean"`` averages the stage-4 map over its width, giving
    ``(B, T = H', 8w)``; ``"rows_flat"`` flattens each row, ``(B, H', 8w W')``.
    ``trunk=False`` (or ``None``) skips the ResNet and feeds each image row straight into the
    cell (``(B, H, C W)``), which is how the 8x8 digits data set is tuned. ``image_size`` is only
    needed where the sequence width depends on it (``trunk=False`` or ``"rows_flat"``).
    Parameters (3 classes, hidden 64): 208,827 for ``width=8``; 749,491 for ``width=16``.

    Shape:
        - Input: ``(B, in_ch, H, W)``
        - Output: ``(B, n_classes)`` logits
    """

    def __init__(
        self,
        in_ch: int = 1,
        n_classes: int = 3,
        width: int = 8,
        stem: str = "small",
        hidden: int = 64,
        layers: int = 1,
        dropout: float = 0.3,
        elu_alpha: float = 1.0,
        gate: str = "sigmoid",
        cell_act: str = "elu",
        trunk: bool | None = True,
        sequence: str = "rows_mean",
        image_size: int = 64,
    ) -> None:
        super().__init__()
        in_ch = _check_positive_int("in_ch", in_ch)
        n_classes = _check_positive_int("n_classes", n_classes, low=2)
        dropout = _check_float("dropout", dropout, 0.0, 1.0)
        elu_alpha = _check_float("elu_alpha", elu_alpha, 0.0, 10.0, lo_open=True)
        hidden = _check_positive_int("hidden", hidden)
        _check_choice("sequence", sequence, SEQUENCES)
        _check_choice("trunk", trunk, (True, False, None))
        image_size = _check_positive_int("image_size", image_size)
        self.sequence, self.elu_alpha = sequence, elu_alpha
        self.trunk: nn.Module | None = None
        if trunk:
            self.trunk = ResNetTrunk(in_ch, width, stem)
            side = trunk_reduction(image_size, stem)
            if sequence == "rows_flat" and side < 1:
                raise ValueError(f"image_size={image_size} is too small for stem={stem!r}")
            n_in = self.trunk.out_channels * (side if sequence == "rows_flat" else 1)
        else:
            n_in = in_ch * image_size
        self.lstm = LSTMELU(n_in, hidden, layers, elu_alpha, gate, cell_act)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_classes)

    def to_sequence(self, x: Tensor) -> Tensor:
        """Image ``(B, C, H, W)`` -> sequence ``(B, T, F)`` read top to bottom."""
        if self.trunk is None:
            B, C, H, W = x.shape
            return x.permute(0, 2, 1, 3).reshape(B, H, C * W)
        fmap = self.trunk(x)  # (B, 8w, H', W')
        if self.sequence == "rows_mean":
            return fmap.mean(dim=3).transpose(1, 2)
        B, C, H, W = fmap.shape
        return fmap.permute(0, 2, 1, 3).reshape(B, H, C * W)

    def forward(self, x: Tensor) -> Tensor:
        seq = self.to_sequence(x)
        if seq.shape[-1] != self.lstm.cells[0].input_size:
            raise ValueError(
                f"input of shape {tuple(x.shape)} gives sequence features {seq.shape[-1]}, "
                f"expected {self.lstm.cells[0].input_size}; set image_size to the input side"
            )
        h = self.lstm(seq)
        return self.head(self.dropout(F.elu(h, self.elu_alpha)))
