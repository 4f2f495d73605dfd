"""What every trained deep model (the bi-LSTM, the fine-tuned wav2vec2) does the same way:
say which device it is on, and load from its checkpoint onto a device, in eval mode.

Each kind reads its own checkpoint format; where the model goes once read is one rule for
every kind, kept here so that the kinds cannot drift apart on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mmemo.models.torch_utils import resolve_device

if TYPE_CHECKING:
    import torch

T = TypeVar("T", bound="TrainedNetwork")


class TrainedNetwork:
    """Base of a trained deep model: a dataclass holding the network (``model``) and the
    configuration it was trained with (``config``, which names a ``device``).

    A kind implements :meth:`_read` for its checkpoint format; :meth:`load` does the rest.
    """

    model: Any
    config: Any

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on."""
        return next(self.model.parameters()).device

    @classmethod
    def load(cls: type[T], path: str | Path, *, device: str | None = None) -> T:
        """Read a checkpoint written by the kind's ``save``.

        Args:
            path: The checkpoint: a file or a folder, as the kind writes it.
            device: Where to put the model; None uses the saved config's device.

        Returns:
            The trained model, in eval mode.

        Raises:
            InputError: ``path`` is not a checkpoint of this kind.
        """
        trained = cls._read(path)
        trained.model.to(resolve_device(device or trained.config.device)).eval()
        return trained

    @classmethod
    def _read(cls: type[T], path: str | Path) -> T:
        """The trained model a checkpoint holds, on the CPU; :meth:`load` places it.

        Raises:
            InputError: ``path`` is not a checkpoint of this kind.
        """
        raise NotImplementedError
