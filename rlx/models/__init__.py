"""Models: the generalized non-local op, the Relational LSTM, backbones and video heads."""

from rlx.models.build import build_model
from rlx.models.nonlocal_op import NonLocalOps
from rlx.models.relational_lstm import RelationalLSTM, RelationalLSTMCell

__all__ = ["NonLocalOps", "RelationalLSTM", "RelationalLSTMCell", "build_model"]
