"""The one registry of model kinds (a :class:`mmemo.registry.Registry`).

:data:`MODEL_KINDS` holds every kind of model a run can be made of, under the name the run
records in ``runs.model``: the static scikit-learn models, the bi-LSTM, the wav2vec2
fine-tune and the late-fusion methods. Each kind implements
:class:`mmemo.models.base.ModelKind` (fit on one fold's data, score, save and load its fold
artefact), which is all that ``mmemo predict`` needs to apply any run to clips.

Beyond the built-ins, a kind comes from one of two places, and :meth:`Registry.origin` says
which: an installed package's entry point in the group ``mmemo.model_kinds`` (name → a
:class:`~mmemo.models.base.ModelKind` subclass, registered on first use), or an import path
``module:Class`` of any scikit-learn classifier, given as the model name itself
(:class:`~mmemo.models.static_models.EstimatorByPath`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from mmemo.registry import Registry, load_target

C = TypeVar("C", bound=type)

__all__ = ["BUILTIN_KINDS", "MODEL_KINDS", "Registry", "load_target", "register_kind"]

#: The built-in model kinds: run model name → ``"module:Class"`` (imported on first use).
BUILTIN_KINDS: Mapping[str, str] = {
    "zeror": "mmemo.models.static_models:ZeroR",
    "svc": "mmemo.models.static_models:SVCModel",
    "knn": "mmemo.models.static_models:KNNModel",
    "mlp": "mmemo.models.static_models:MLPModel",
    "logreg": "mmemo.models.static_models:LogRegModel",
    "bilstm": "mmemo.models.bilstm.kind:BiLSTMKind",
    "wav2vec2-finetune": "mmemo.models.wav2vec2_finetune.kind:FinetuneKind",
    "fusion-logreg": "mmemo.fusion.kinds:LogRegFusion",
    "fusion-mean": "mmemo.fusion.kinds:MeanFusion",
    "fusion-product": "mmemo.fusion.kinds:ProductFusion",
    "fusion-vote": "mmemo.fusion.kinds:VoteFusion",
}


def _kind_by_path(name: str) -> Any:
    """The model kind of a scikit-learn classifier named by its import path (None for a name
    that is not one)."""
    if ":" not in name:
        return None
    from mmemo.models.static_models import STATIC_MODELS

    return STATIC_MODELS.get(name)


#: Every model kind a run can be made of (see the module docstring).
MODEL_KINDS: Registry[Any] = Registry(
    "model kind", BUILTIN_KINDS, entry_points="mmemo.model_kinds", dynamic=_kind_by_path
)
#: Class decorator that registers a model kind; refuses a name that is taken.
register_kind: Callable[[C], C] = MODEL_KINDS.register


def get_kind(name: str) -> Any:
    """The model kind of runs whose ``model`` is ``name`` (a :class:`ModelKind`).

    Raises:
        InputError: no such kind, listing the valid ones.
    """
    return MODEL_KINDS.get(name)


def describe_kinds() -> list[tuple[str, str, str, str]]:
    """Every model kind a run can be made of, as ``mmemo models`` lists them: name, what it
    takes (:data:`~mmemo.models.base.InputKind`), where it comes from (:meth:`Registry.origin`)
    and its description (its class docstring's first line where it has no ``description``).
    Importing each kind imports its module, but neither torch nor transformers: a kind's
    heavy imports happen when it fits."""
    rows = []
    for name in MODEL_KINDS.names():
        kind = MODEL_KINDS.get(name)
        text = getattr(kind, "description", None) or (type(kind).__doc__ or "").strip()
        rows.append((name, str(kind.inputs), MODEL_KINDS.origin(name), text.split("\n")[0]))
    return rows
