"""What a training run *is*: the settings that decide its result, and their fingerprint.

``coursekit.training.fit_or_load`` keys a saved run by its name **and** by :func:`run_settings`,
a flat ``{name: value}`` dict of everything that decides the result, so that a changed setting
never loads an old run:

- ``model.*``: the architecture (each layer's class and config, each weight's shape) and the
  trainer's own settings: every public number, flag or string attribute of the model (a GAN's
  ``real_label``, a CycleGAN's loss weights, a WGAN's ``n_critic`` ...), the initial seed of each
  of its ``SeedGenerator``\\ s, and whatever its ``fingerprint_config()`` returns;
- ``<optimizer attribute>.*``: every optimizer the model holds (``optimizer``, or one per network
  such as ``d_optimizer`` and ``g_optimizer``): its config, learning rate and schedule included;
- ``compile.*``: the loss, its weights and the metrics given to ``compile`` (a loss object by its
  serialised config, a function by its name: never by a memory address, which changes with every
  process);
- ``fit.*``: ``epochs``, ``batch_size``, ``shuffle``, ``steps_per_epoch`` and the other fit arguments
  that change training (``verbose`` and callbacks do not);
- ``seed``: Keras' global seed (``keras.utils.set_random_seed``);
- ``data.*``: shape, dtype and a content hash of the training data (for a ``tf.data.Dataset``: its
  element spec and a hash of its first batches, computed once per pipeline object, so that a
  pipeline that reshuffles every pass keeps its key in the kernel that built it); likewise ``y``
  and ``validation_data``;
- ``code``: :data:`RUN_FORMAT`, raised when coursekit's training machinery changes what a run
  means, and ``code.trainer``: a hash of the source of ``train_step``, ``compute_loss``, ``call``
  and ``build`` of the model's and its layers' own classes (not Keras'), so that an edited
  training step (a lecture's own GAN subclass, or coursekit's) trains a new run.

Values are short strings, so :func:`describe_changes` can print the one line a student needs:
``learning_rate 0.0002 -> 0.001; epochs 8 -> 16``. Hashes use ``joblib.hash`` (md5 of the pickled
content, the hashing of ``joblib.Memory``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import weakref
from typing import Any, Mapping, Optional

import numpy as np

#: Version of what a saved run means; raise it when the training machinery changes results.
RUN_FORMAT = "runkey-1"
DATASET_BATCHES_HASHED = 2  # a tf.data pipeline is identified by its spec and its first batches
_DATASET_SETTINGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # pipeline -> its settings
_CODE_METHODS = ("train_step", "test_step", "compute_loss", "call", "build")
_LIBRARY_MODULES = {"keras", "tensorflow", "tf_keras", "builtins", "abc", "typing"}
_FIT_IGNORED = {"verbose", "callbacks", "validation_freq", "workers", "use_multiprocessing", "max_queue_size"}
_MODEL_ATTRS_IGNORED = {"built", "trainable", "name", "stop_training", "compiled", "jit_compile", "run_eagerly",
                        "steps_per_execution", "supports_masking", "dtype_policy", "input_spec", "autocast",
                        "image_shape"}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return str(np.float32(value)) if np.isfinite(value) else repr(value)  # shortest float32 text: 0.001
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value) if isinstance(value, str) else str(value)
    return json.dumps(value, sort_keys=True, default=str)


def content_hash(obj: Any) -> str:
    """A short hex digest of ``obj``'s content (arrays by bytes, dtype and shape)."""
    import joblib

    return joblib.hash(obj)[:16]


def _flatten(prefix: str, config: Any, out: dict) -> None:
    if isinstance(config, Mapping):
        for key in sorted(config):
            _flatten(f"{prefix}.{key}" if prefix else str(key), config[key], out)
    else:
        out[prefix] = _short(config)


def _layer_names(model, found: dict) -> dict:
    """Every (nested) layer's name mapped to ``layer<i>`` in the order the layers are met."""
    for layer in [*(getattr(model, "_layers", None) or []), *(getattr(model, "layers", None) or [])]:
        if layer.name not in found:
            found[layer.name] = f"layer{len(found)}"
            _layer_names(layer, found)
    return found


def _renamed(config: Any, names: Mapping) -> Any:
    """``config`` with every layer name replaced by its position: Keras' automatic names (``dense_3``)
    depend on how many layers the process built before, not on the architecture."""
    if isinstance(config, Mapping):  # a name not among the layers (Sequential's input layer) is dropped
        return {k: (_renamed(v, names) if k != "name" or v in names else None)
                for k, v in config.items() if k != "trainable"}
    if isinstance(config, (list, tuple)):
        return [_renamed(v, names) for v in config]
    if isinstance(config, str):
        return names.get(config, config)
    return config


def _layer_signature(model, names: Optional[Mapping] = None) -> list:
    """Each layer's class and config (names by position), nested layers included."""
    names = _layer_names(model, {model.name: "model"}) if names is None else names
    sig = []
    for layer in getattr(model, "layers", []) or []:
        try:
            config = layer.get_config()
        except Exception:  # noqa: BLE001 - a layer without a config is identified by its class and weights
            config = {}
        sig.append([type(layer).__name__, _renamed(config, names),
                    _layer_signature(layer, names) if hasattr(layer, "layers") else []])
    return sig


def _optimizers(model) -> dict:
    import keras

    found = {}
    for name, value in sorted(vars(model).items()):
        if isinstance(value, keras.optimizers.Optimizer) and not name.startswith("_"):
            found[name] = value
    opt = getattr(model, "optimizer", None)
    if isinstance(opt, keras.optimizers.Optimizer) and not any(opt is o for o in found.values()):
        found["optimizer"] = opt
    return found


def _optimizer_config(opt) -> dict:
    config = dict(opt.get_config())
    config.pop("name", None)
    lr = config.get("learning_rate")
    if isinstance(lr, Mapping):  # a schedule: its class and its own config
        config["learning_rate"] = {"schedule": lr.get("class_name"), **(lr.get("config") or {})}
    return config


def _model_settings(model) -> dict:
    import keras

    out: dict = {}
    attrs = {}
    for name, value in sorted(vars(model).items()):
        if name.startswith("_") or name in _MODEL_ATTRS_IGNORED:
            continue
        if isinstance(value, (bool, int, float, str)) or value is None:
            attrs[name] = value
        elif isinstance(value, keras.random.SeedGenerator):
            attrs[f"{name}.seed"] = getattr(value, "_initial_seed", None)
        elif isinstance(value, tuple) and all(isinstance(v, (int, float, str, bool)) for v in value):
            attrs[name] = list(value)
    if hasattr(model, "fingerprint_config"):
        attrs.update(model.fingerprint_config())
    _flatten("model", attrs, out)
    out["model.class"] = type(model).__name__
    out["model.architecture"] = content_hash(_layer_signature(model))
    out["model.weights"] = content_hash([list(map(int, w.shape)) for w in model.weights])
    return out


def _data_settings(prefix: str, data: Any) -> dict:
    if data is None:
        return {}
    if hasattr(data, "element_spec"):  # tf.data.Dataset
        try:
            known = _DATASET_SETTINGS.get(data)
        except TypeError:  # not weakly referable: hashed every time
            known = None
        if known is None:  # a reshuffling pipeline gives other first batches on every pass: keep the first
            batches = [np.asarray(t) for b in data.take(DATASET_BATCHES_HASHED) for t in _leaves(b)]
            known = {"spec": str(data.element_spec), "first_batches": content_hash(batches)}
            try:
                _DATASET_SETTINGS[data] = known
            except TypeError:
                pass
        return {f"{prefix}.{key}": value for key, value in known.items()}
    if isinstance(data, (list, tuple)):
        out = {}
        for i, part in enumerate(data):
            out.update(_data_settings(f"{prefix}[{i}]", part))
        return out
    if isinstance(data, Mapping):
        out = {}
        for key in sorted(data):
            out.update(_data_settings(f"{prefix}.{key}", data[key]))
        return out
    arr = np.asarray(data)
    return {f"{prefix}.shape": str(tuple(arr.shape)), f"{prefix}.dtype": str(arr.dtype),
            f"{prefix}.content": content_hash(np.ascontiguousarray(arr))}


def _leaves(batch):
    if isinstance(batch, (list, tuple)):
        return [leaf for part in batch for leaf in _leaves(part)]
    if isinstance(batch, Mapping):
        return [leaf for key in sorted(batch) for leaf in _leaves(batch[key])]
    return [batch]


def global_seed():
    """Keras' global seed as set by ``keras.utils.set_random_seed`` (``None`` if never set)."""
    try:
        from keras.src.backend.common import global_state

        return global_state.get_global_attribute("global_random_seed")
    except Exception:  # noqa: BLE001 - a Keras without this attribute: the seed is not part of the key
        return None


def _described(value: Any) -> Any:
    """A compile argument as JSON-able content: strings as they are, a function by its name, a Keras
    loss or metric object by its serialised config (class and arguments), containers element-wise."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _described(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_described(v) for v in value]
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return getattr(value, "__qualname__", None) or value.__name__
    try:
        import keras

        config = keras.saving.serialize_keras_object(value)
        config = {k: v for k, v in config.items() if k not in ("registered_name", "build_config")} \
            if isinstance(config, Mapping) else config
        return json.loads(json.dumps(config, sort_keys=True, default=lambda o: type(o).__name__))
    except Exception:  # noqa: BLE001 - not serialisable: its class name, never its repr (memory address)
        return type(value).__name__


def _compile_settings(model) -> dict:
    config = getattr(getattr(model, "_compile_config", None), "config", None) or {}
    out = {}
    for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
        value = config.get(key, getattr(model, "loss", None) if key == "loss" else None)
        if value is not None:
            out[f"compile.{key}"] = _short(_described(value))
    return out


def _code_settings(model) -> dict:
    """``code.trainer``: a hash of the source of the training code of the model's and its layers' own classes."""
    try:
        objects = [model, *model._flatten_layers(include_self=False, recursive=True)]
    except Exception:  # noqa: BLE001 - not a Keras layer tree
        objects = [model]
    classes = {}
    for obj in objects:
        for cls in type(obj).__mro__:
            if (getattr(cls, "__module__", "") or "").split(".")[0] not in _LIBRARY_MODULES:
                classes.setdefault(cls.__qualname__, cls)
    sources = []
    for name in sorted(classes):
        for method in _CODE_METHODS:
            fn = classes[name].__dict__.get(method)
            if fn is None:
                continue
            try:
                source = inspect.getsource(inspect.unwrap(fn))
            except (OSError, TypeError):  # defined where no source is kept: identified by its name
                source = ""
            sources.append([name, method, source])
    return {"code.trainer": content_hash(sources)}


def run_settings(model, x, *, epochs: int, fit_kwargs: Mapping) -> dict:
    """The flat ``{setting: short string}`` that identifies a run (see the module docstring)."""
    out = _model_settings(model)
    for name, opt in _optimizers(model).items():
        _flatten(name, _optimizer_config(opt), out)
    out.update(_compile_settings(model))
    out["fit.epochs"] = str(int(epochs))
    for key, value in sorted(fit_kwargs.items()):
        if key in _FIT_IGNORED or key in ("y", "validation_data"):
            continue
        out[f"fit.{key}"] = _short(value)
    out.update(_data_settings("data", x))
    out.update(_data_settings("data.y", fit_kwargs.get("y")))
    out.update(_data_settings("validation", fit_kwargs.get("validation_data")))
    out["seed"] = str(global_seed())
    out["code"] = RUN_FORMAT
    out.update(_code_settings(model))
    return out


def fingerprint(settings: Mapping, *, without: tuple = ()) -> str:
    """A 12-hex-digit digest of ``settings`` (optionally leaving some keys out, e.g. ``fit.epochs``)."""
    kept = {k: v for k, v in sorted(settings.items()) if k not in without}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


def describe_changes(old: Mapping, new: Mapping, limit: int = 6) -> str:
    """``"learning_rate 0.0002 -> 0.001; epochs 8 -> 16"``: the settings that differ, named briefly."""
    keys = sorted(set(old) | set(new), key=lambda k: (k != "fit.epochs", k))
    parts = []
    for key in keys:
        a, b = old.get(key, "(none)"), new.get(key, "(none)")
        if a != b:
            hashed = all(len(v) == 16 and all(c in "0123456789abcdef" for c in v) for v in (a, b))
            parts.append(f"{_display(key, keys)} changed" if hashed else f"{_display(key, keys)} {a} -> {b}")
    if len(parts) > limit:
        parts = parts[:limit] + [f"and {len(parts) - limit} more"]
    return "; ".join(parts) if parts else "nothing"


def _display(key: str, keys) -> str:
    """The last part of a setting's name when that is unambiguous (``optimizer.learning_rate`` ->
    ``learning_rate``), else the full name (``g_optimizer.learning_rate``)."""
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [k for k in keys if k.rsplit(".", 1)[-1] == leaf]
    return leaf if len(same_leaf) == 1 and not key.startswith("data") else key
