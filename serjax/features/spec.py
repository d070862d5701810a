"""The data-side configuration: audio loading, augmentation and feature parameters.

``default_config()`` returns a ``ConfigDict`` with three sections that experiment configs compose
(``config.audio``, ``config.augment``, ``config.features``). Every parameter librosa would
otherwise default is written here, so a cached FeatureSet is a function of this dict alone.

Sections:

* ``audio``: ``sample_rate`` 22,050 Hz, ``res_type`` (the resampler, passed to
  ``librosa.resample``), ``trim_top_db`` (``None`` turns trimming off), the trim framing, an
  optional fixed window (``window_offset_s``, ``window_duration_s``; the authors' code loaded
  2.5 s from 0.6 s) and ``silence_dbfs`` (a peak below it means "silence only").
* ``augment``: ``copies`` augmented rows per file (1 doubles the data, as the paper), ``mode``
  (``chain``: every op in ``ops`` in order; ``one_of``: one op per copy), ``seed``, and a
  ``[min, max]`` range per op from which each (file, copy) draws its parameter.
* ``features``: framing (``n_fft``, ``hop_length``, ``center``, ``pad_mode``), ``n_mels``,
  ``n_mfcc``, chroma (``n_chroma``, ``tuning`` fixed at 0.0, ``chroma_power``), mel/dB
  parameters, ``acoustic`` kind (``ACOUSTIC_KINDS``: librosa ``summary`` | ``frames`` |
  ``logmel_frames`` (the log-mel spectrogram [T, n_mels] in dB), openSMILE ``egemaps`` |
  ``compare`` | ``egemaps_frames`` | ``compare_frames``, or vectors / sequences computed
  elsewhere, ``external`` | ``external_frames``, read from
  ``external_path``), ``fuse`` (``FUSE_KINDS``: a second vector view appended to
  ``statistical``, ``serjax.features.fused_views``; ``""`` = off), ``max_frames``,
  ``frames_dtype``,
  ``statistical`` subset (``authors8`` | ``paper6``), ``backend`` (``librosa`` | ``jax`` |
  ``auto``), ``shard_size`` (files per precompute shard), ``jax_batch_size`` and ``workers``
  (precompute processes; ``None`` = all CPUs).
"""

from __future__ import annotations

import ml_collections

#: The statistics the authors' published code computes, in its order (fused width 32 + 8 + 1).
AUTHORS8 = ("mean", "variance", "skewness", "kurtosis", "rms_mean", "centroid_mean",
            "bandwidth_mean", "mfcc13_mean")
#: The six the paper's text lists.
PAPER6 = ("mean", "variance", "skewness", "kurtosis", "centroid_mean", "bandwidth_mean")
STATISTICAL_SUBSETS = {"authors8": AUTHORS8, "paper6": PAPER6}

#: The acoustic vector's blocks in the paper's order; widths for the default config.
ACOUSTIC_BLOCKS = ("zcr", "chroma", "mfcc", "rms", "mel")
AUGMENT_OPS = ("pitch_shift", "time_stretch", "lowpass", "noise")
BACKENDS = ("librosa", "jax", "auto")

#: ``features.acoustic`` values. Frame kinds store [N, max_frames, D] + ``frame_mask`` (the
#: frames CNN reads them); the others one vector [N, D] per row (SER-FusionNet, baselines).
LIBROSA_KINDS = ("summary", "frames", "logmel_frames")
OPENSMILE_WIDTHS = {"egemaps": 88, "compare": 6373, "egemaps_frames": 25, "compare_frames": 65}
OPENSMILE_KINDS = tuple(OPENSMILE_WIDTHS)
FUNCTIONAL_KINDS = ("egemaps", "compare")
EXTERNAL_KINDS = ("external", "external_frames")
ACOUSTIC_KINDS = LIBROSA_KINDS + OPENSMILE_KINDS + EXTERNAL_KINDS
FRAME_KINDS = ("frames", "logmel_frames", "egemaps_frames", "compare_frames",
               "external_frames")
#: ``features.fuse`` values: a second view of one vector per row appended to ``statistical``
#: (the classifier's fused input; ``serjax.features.fused_views``); "" = off.
FUSE_KINDS = ("summary",) + FUNCTIONAL_KINDS + ("external",)


def default_config() -> ml_collections.ConfigDict:
    """The paper's defaults with every librosa parameter explicit."""
    c = ml_collections.ConfigDict()

    c.audio = ml_collections.ConfigDict()
    c.audio.sample_rate = 22_050
    c.audio.res_type = "soxr_hq"
    c.audio.trim_top_db = 30.0          # dB below the peak RMS frame counted as silence
    c.audio.trim_frame_length = 2048
    c.audio.trim_hop_length = 512
    c.audio.window_offset_s = ml_collections.config_dict.placeholder(float)
    c.audio.window_duration_s = ml_collections.config_dict.placeholder(float)
    c.audio.silence_dbfs = -70.0        # peak |y| below this (dB re full scale): silence only

    c.augment = ml_collections.ConfigDict()
    c.augment.copies = 1
    c.augment.mode = "chain"            # "chain" | "one_of"
    c.augment.ops = AUGMENT_OPS         # applied in this order (noise last: SNR holds exactly)
    c.augment.seed = 0
    c.augment.pitch_semitones = (-1.5, 1.5)
    c.augment.stretch_rate = (0.85, 1.15)
    c.augment.lowpass_cutoff_hz = (3_000.0, 6_000.0)
    c.augment.lowpass_numtaps = 255     # Kaiser-window FIR, zero phase ("same" convolution)
    c.augment.lowpass_stopband_db = 60.0
    c.augment.noise_snr_db = (15.0, 30.0)

    c.features = ml_collections.ConfigDict()
    c.features.n_fft = 2048
    c.features.hop_length = 512
    c.features.center = True
    c.features.pad_mode = "constant"    # STFT/RMS padding; ZCR pads with "edge" as librosa does
    c.features.window = "hann"
    c.features.n_mels = 128
    c.features.fmin = 0.0
    c.features.fmax = ml_collections.config_dict.placeholder(float)  # None = sr / 2
    c.features.mel_htk = False
    c.features.mel_norm = "slaney"
    c.features.n_mfcc = 20
    c.features.stat_n_mfcc = 13
    c.features.db_amin = 1e-10
    c.features.db_top_db = 80.0
    c.features.n_chroma = 12
    c.features.tuning = 0.0
    c.features.chroma_power = 1.0       # the authors passed S=|STFT| (magnitude) to chroma_stft
    c.features.zcr_threshold = 1e-10
    c.features.acoustic = "summary"     # "summary" [162] | "frames" [max_frames, 162] |
    #                                     "logmel_frames" [max_frames, n_mels] | …
    c.features.external_path = ""       # features.acoustic="external*": .npz/.npy file or folder
    c.features.fuse = ""                # a FUSE_KINDS view appended to statistical; "" = off
    c.features.max_frames = 256
    c.features.frames_dtype = "float32"  # or "float16"
    c.features.statistical = "authors8"  # or "paper6"
    c.features.backend = "auto"
    c.features.shard_size = 256
    c.features.jax_batch_size = 64
    c.features.workers = ml_collections.config_dict.placeholder(int)  # None = all CPUs
    return c


def acoustic_kind(features: ml_collections.ConfigDict) -> str:
    """``features.acoustic``, checked against ``ACOUSTIC_KINDS`` (the error lists them)."""
    kind = features.get("acoustic", "summary")
    if kind not in ACOUSTIC_KINDS:
        raise ValueError(f"features.acoustic={kind!r}; choose one of {', '.join(ACOUSTIC_KINDS)}")
    if kind in EXTERNAL_KINDS and not features.get("external_path", ""):
        raise ValueError(f"features.acoustic={kind!r} reads features computed elsewhere: set "
                         "features.external_path to a .npz/.npy keyed by 'corpus/path' or to a "
                         "folder of per-file .npy (see serjax/features/external.py)")
    return kind


def fuse_kind(features: ml_collections.ConfigDict) -> str:
    """``features.fuse`` ("" = off), checked against ``FUSE_KINDS`` (the error lists them)."""
    kind = features.get("fuse", "") or ""
    if kind and kind not in FUSE_KINDS:
        raise ValueError(f"features.fuse={kind!r}: the fused view must be one vector per row; "
                         f"choose '' (off) or one of {', '.join(FUSE_KINDS)}")
    if kind in EXTERNAL_KINDS and not features.get("external_path", ""):
        raise ValueError("features.fuse='external' reads features computed elsewhere: set "
                         "features.external_path (see serjax/features/external.py)")
    return kind


def is_frames(features: ml_collections.ConfigDict) -> bool:
    """True when rows hold frame sequences [T, D] (+ frame_mask), False for one vector [D]."""
    return acoustic_kind(features) in FRAME_KINDS


def acoustic_width(features: ml_collections.ConfigDict) -> int:
    """Columns of the acoustic array: for ``summary`` / ``frames`` ZCR 1 + chroma n_chroma +
    MFCC n_mfcc + RMS 1 + mel n_mels (162 by default), for ``logmel_frames`` n_mels, for
    openSMILE the set's width. External widths are the files' own
    (``serjax.features.external``), unknown here."""
    kind = acoustic_kind(features)
    if kind in OPENSMILE_WIDTHS:
        return OPENSMILE_WIDTHS[kind]
    if kind == "logmel_frames":
        return features.n_mels
    if kind in EXTERNAL_KINDS:
        raise ValueError("the width of external features is read from features.external_path "
                         "(serjax.features.external.width), not from the config")
    return 1 + features.n_chroma + features.n_mfcc + 1 + features.n_mels


def feature_backend(features: ml_collections.ConfigDict) -> str:
    """The backend precompute uses: ``resolve_backend(features.backend)`` for the librosa kinds;
    openSMILE and external kinds always run on the CPU path (``librosa`` computes their
    statistical features beside them; the batched JAX path has no openSMILE)."""
    if acoustic_kind(features) in LIBROSA_KINDS:
        return resolve_backend(features.backend)
    return "librosa"


def statistical_names(features: ml_collections.ConfigDict) -> tuple[str, ...]:
    """The names of the statistical columns, in order."""
    try:
        return STATISTICAL_SUBSETS[features.statistical]
    except KeyError:
        raise ValueError(f"features.statistical={features.statistical!r}; choose one of "
                         f"{sorted(STATISTICAL_SUBSETS)}") from None


def resolve_backend(backend: str) -> str:
    """``auto`` is ``jax`` when JAX's default device is a GPU/TPU, else ``librosa``."""
    if backend not in BACKENDS:
        raise ValueError(f"features.backend={backend!r}; choose one of {BACKENDS}")
    if backend != "auto":
        return backend
    import jax  # noqa: PLC0415  (deferred: feature workers start without JAX; only auto needs it)
    return "jax" if jax.default_backend() in ("gpu", "cuda", "rocm", "tpu") else "librosa"
