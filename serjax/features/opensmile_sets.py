"""openSMILE feature sets through the ``opensmile`` package (audEERING's Python wrapper).

``features.acoustic`` selects one of four sets (``spec.OPENSMILE_KINDS``):

==================  ==========================  ====================  ===================
value               openSMILE set               level                 per utterance
==================  ==========================  ====================  ===================
``egemaps``         eGeMAPS v02                 functionals           float32 [88]
``compare``         ComParE 2016                functionals           float32 [6373]
``egemaps_frames``  eGeMAPS v02                 low-level descriptors float32 [T, 25]
``compare_frames``  ComParE 2016                low-level descriptors float32 [T, 65]
==================  ==========================  ====================  ===================

Low-level descriptors come every 10 ms (openSMILE's own hop, whatever the sample rate). The
input is the waveform the pipeline has already prepared (resampled to ``audio.sample_rate``,
trimmed, windowed, augmented), so openSMILE sees exactly the audio the librosa features see.

A ``Smile`` object parses its config files when built (~tens of ms), so each process builds one
per set and reuses it (``smile``): precompute workers are separate processes, each with its own.
"""

from __future__ import annotations

import functools

import numpy as np

from serjax.features import spec


def _sets():
    import opensmile  # noqa: PLC0415  (its import pulls in audinterface/pandas: only when used)
    functionals = opensmile.FeatureLevel.Functionals
    lld = opensmile.FeatureLevel.LowLevelDescriptors
    egemaps, compare = opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureSet.ComParE_2016
    return {"egemaps": (egemaps, functionals), "compare": (compare, functionals),
            "egemaps_frames": (egemaps, lld), "compare_frames": (compare, lld)}


def _check_kind(kind: str) -> None:
    if kind not in spec.OPENSMILE_KINDS:
        raise ValueError(f"{kind!r} is not an openSMILE feature set; choose one of "
                         f"{spec.OPENSMILE_KINDS}")


@functools.cache
def smile(kind: str):
    """The process's ``opensmile.Smile`` for ``kind`` (built once, then reused)."""
    _check_kind(kind)
    import opensmile  # noqa: PLC0415
    feature_set, level = _sets()[kind]
    return opensmile.Smile(feature_set=feature_set, feature_level=level)


def feature_names(kind: str) -> list[str]:
    """openSMILE's column names for ``kind``, in the order of the feature arrays."""
    return list(smile(kind).feature_names)


def compute(wave: np.ndarray, sample_rate: int, kind: str) -> np.ndarray:
    """Prepared float32 waveform [n] -> float32 [D] (functionals) or [T, D] (LLD frames).

    Raises ValueError if openSMILE returns another width than ``spec.OPENSMILE_WIDTHS`` (a
    different opensmile release with changed sets: the cached FeatureSets would not match)."""
    values = smile(kind).process_signal(np.asarray(wave, np.float32), int(sample_rate))
    out = np.asarray(values.to_numpy(), np.float32)
    width = spec.OPENSMILE_WIDTHS[kind]
    if out.ndim != 2 or out.shape[1] != width:
        raise ValueError(f"openSMILE {kind} returned shape {out.shape}, expected [T, {width}]; "
                         "install the opensmile release pinned in pyproject.toml")
    return out[0] if kind in spec.FUNCTIONAL_KINDS else out
