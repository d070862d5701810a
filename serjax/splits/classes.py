"""``config.labels``: which of a corpus's label names become the model's classes, in what order.

A corpus's rows carry label names: the Kaggle corpora the eight of ``naming.LABELS``, a
manifest its own. ``config.labels`` maps them to classes ``0..C-1``:

* a tuple of names, ``("neutral", "happy", "sad")``: these classes in this order; rows of the
  other names are dropped (UNUSED for every model). The SER Superset's six classes are one case.
* ``()`` (empty): every name of the corpus, in its order.
* merges, either a mapping ``{"negative": ("angry", "sad"), "neutral": "neutral"}`` (in a
  config file) or ``name=old+old`` items in the tuple, which work on the command line:
  ``--config.labels=neutral,negative=angry+sad+fear,happy``.

Every name must be one of the corpus's, and each may feed one class only; the errors list the
corpus's names.

``config.data.labels`` is the same setting under the name the manifest corpora were asked for
by: ``None`` (the default) leaves ``config.labels`` in charge; set, it replaces it. Its default
being ``None``, it also takes a mapping in a config file (``config.labels``, a tuple, cannot
become a mapping there: ml_collections keeps a field's type).
"""

from __future__ import annotations

from collections.abc import Mapping


def spec_of(config):
    """The labels setting of a config: ``data.labels`` when set, else ``labels``."""
    data_labels = config.data.get("labels") if "data" in config else None
    return config.labels if data_labels is None else data_labels


def _as_items(spec, corpus_names) -> list[tuple[str, tuple[str, ...]]]:
    """[(class name, (corpus names it takes, ...))] of any accepted form."""
    if spec is None or (not isinstance(spec, str) and len(spec) == 0):
        return [(n, (n,)) for n in corpus_names]
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    if isinstance(spec, str):
        spec = [s for s in spec.split(",") if s.strip()]
    if isinstance(spec, Mapping):
        return [(str(k).strip(), (v,) if isinstance(v, str) else tuple(v))
                for k, v in spec.items()]
    items = []
    for entry in spec:
        if isinstance(entry, Mapping) or hasattr(entry, "to_dict"):
            items += _as_items(entry, corpus_names)
        elif "=" in str(entry):
            new, old = str(entry).split("=", 1)
            items.append((new.strip(), tuple(o for o in old.split("+"))))
        else:
            items.append((str(entry).strip(), (str(entry).strip(),)))
    return items


def resolve(spec, corpus_names) -> tuple[tuple[str, ...], dict[str, int]]:
    """(class names, {corpus label name: class index}) for ``config.labels`` = ``spec`` over a
    corpus whose rows carry ``corpus_names``; ValueError naming what is wrong."""
    corpus_names = tuple(corpus_names)
    items = [(new, tuple(o.strip() for o in olds)) for new, olds in _as_items(spec, corpus_names)]
    classes = tuple(new for new, _ in items)
    if len(set(classes)) != len(classes) or "" in classes:
        raise ValueError(f"labels {list(classes)}: class names must be unique and non-empty")
    class_of: dict[str, int] = {}
    for index, (new, olds) in enumerate(items):
        for old in olds:
            if old not in corpus_names:
                raise ValueError(f"labels: {old!r} is not a label of this corpus; its labels are "
                                 f"{list(corpus_names)}: name some of them (--config.labels="
                                 f"{','.join(corpus_names[:3])},...), or all with "
                                 "--config.labels=()")
            if old in class_of:
                raise ValueError(f"labels: {old!r} feeds both {classes[class_of[old]]!r} and "
                                 f"{new!r}; give each label one class")
            class_of[old] = index
    if len(classes) < 2:
        raise ValueError(f"labels {list(classes)}: a classifier needs two classes or more")
    return classes, class_of
