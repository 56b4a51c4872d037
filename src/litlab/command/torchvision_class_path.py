"""`backbone: {class_path: torchvision.models.resnet18, init_args: {...}}` in YAML, made to work.

jsonargparse builds a `Callable[..., nn.Module]` argument as a factory (a `functools.partial` the task later
calls with the data's shape) only when the class_path is a *class* that subclasses the return type. A
torchvision builder is a *function*, so jsonargparse calls it at once with its defaults (1000 classes, 3
channels) and hands the task a finished model instead of a factory (its documented rule for callables:
"the class must either instantiate into a callable or be a subclass of the return type"). The task then
cannot give it `num_classes` or the channel count.

So right after parsing, such a spec is rewritten into the equivalent `litlab.models.TorchvisionBackbone`
spec, which is a class: the options the user set pass through as `model_kwargs`, and the saved config.yaml
shows the wrapper it ran as. `weights=` (a download) is refused with what to write instead.
"""

import importlib
from typing import Any

from jsonargparse import ArgumentParser, Namespace

from litlab.command.errors import ConfigError
from litlab.models.torchvision_backbone import TorchvisionBackbone, is_torchvision_builder

WRAPPER = f"{TorchvisionBackbone.__module__.rsplit('.', 1)[0]}.{TorchvisionBackbone.__name__}"
SUPPLIED_BY_LITLAB = ("num_classes", "progress")  # the data's class count; progress only matters for downloads


def _builder(class_path: str) -> Any:
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _same(a: object, b: object) -> bool:
    return a is b or repr(a) == repr(b)  # defaults such as functools.partial(LayerNorm) compare by identity


def _set_by_user(builder: Any, init_args: Namespace) -> dict[str, Any]:
    """The builder's options whose value differs from jsonargparse's default for them."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_function_arguments(builder)
    defaults = parser.get_defaults()
    given = init_args.as_dict() if isinstance(init_args, Namespace) else dict(init_args or {})
    return {key: value for key, value in given.items() if key not in defaults or not _same(value, defaults[key])}


def as_torchvision_backbone(spec: object) -> Namespace | None:
    """The `TorchvisionBackbone` spec equal to a torchvision-builder spec; None for any other value."""
    if not isinstance(spec, Namespace) or not isinstance(spec.get("class_path"), str):
        return None
    builder = _builder(spec.class_path)
    if not is_torchvision_builder(builder):
        return None
    name = builder.__name__
    kwargs = _set_by_user(builder, spec.get("init_args"))
    instead = f"class_path: {WRAPPER}, init_args: {{name: {name}, weights_path: <a local .pth file>}}"
    if kwargs.get("weights") is not None:
        raise ConfigError(
            f"backbone {spec.class_path}: weights={kwargs['weights']} would download; litlab loads weights only "
            f"from a local file: {instead}."
        )
    if "num_classes" in kwargs:
        raise ConfigError(
            f"backbone {spec.class_path}: remove num_classes={kwargs['num_classes']}; litlab sets it from the data."
        )
    for key in ("weights", *SUPPLIED_BY_LITLAB):
        kwargs.pop(key, None)
    return Namespace(
        class_path=WRAPPER,
        init_args=Namespace(name=name, weights_path=None, model_kwargs=kwargs or None, builder=None),
    )


def rewrite_torchvision_backbone(config: Namespace) -> None:
    """Replace `model.init_args.backbone` in place when it is a torchvision builder spec."""
    key = "model.init_args.backbone"
    if key in config and (wrapper := as_torchvision_backbone(config[key])) is not None:
        config[key] = wrapper
