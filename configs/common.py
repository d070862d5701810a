"""The paper's recipe, every value written out; each experiment config starts here.

    import common
    config = common.base_config("ravdess", "consecutive")   # then change a few fields

Sections, in data-flow order: ``data`` (which corpus, where), ``audio`` / ``augment`` /
``features`` (what the models read), ``folds`` (who trains and who tests), ``model`` (the
networks), ``train`` (the optimisation recipe), ``seeds``, ``labels``; then ``runtime``, the
implementation and speed choices that never change a result (``serjax.training.runtime``).

The library keeps the same values as functions for tests and notebooks
(``spec.default_config``, ``schemes.default_folds_config``, ``networks.default_model_config``,
``train.default_train_config``); tests/test_config.py checks the two agree field by field,
so neither can drift. "The paper" is SER-FusionNet's text; "the authors" their Keras code.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from serjax.paper import baselines
from serjax.training import hparams, runtime


def data_config(corpus: str) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # "ravdess" | "crema_d" | "savee" | "tess" | "superset" (the four merged, six classes) |
    # "manifest" (your corpus, listed in `manifest`) | "emobox" (an EmoBox folder, `emobox_dir`).
    c.corpus = corpus
    # A folder holding ravdess/ crema_d/ savee/ tess/ as unpacked from Kaggle (or as
    # `serjax synth all` writes them). Empty: $SERJAX_DATA_ROOT, else a clear error.
    c.root = ""
    # > 0: ignore `root` and train on a synthetic corpus of this scale (written once, cached).
    c.synthetic_scale = 0.0
    c.synthetic_seed = 0
    c.cache_dir = ""    # features, prepared datasets, synthetic corpora; "" = ~/.cache/serjax
    # corpus="manifest": a .csv/.tsv/.jsonl file, one row per utterance (path, emotion,
    # speaker; optional gender, key, start, end): serjax.corpora.manifest.
    c.manifest = ""
    # corpus="emobox": EmoBox's data/<corpus>/ folder, and the folder its wav paths start from.
    c.emobox_dir = ""
    c.audio_root = ""
    # None: the top-level `labels` chooses the classes. Set (names, "new=old+old" items, or a
    # mapping {new: [old, ...]}), it replaces them: serjax.splits.classes.
    c.labels = None
    return c


def audio_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.sample_rate = 22_050          # librosa's default rate, as the authors loaded the files
    c.res_type = "soxr_hq"          # resampler passed to librosa.resample
    c.trim_top_db = 30.0            # leading/trailing frames this many dB below the peak: silence
    c.trim_frame_length = 2048      # framing of that trim
    c.trim_hop_length = 512
    c.window_offset_s = placeholder(float)    # None: the whole trimmed file (the authors' code
    c.window_duration_s = placeholder(float)  # loaded 2.5 s from 0.6 s: set 0.6 and 2.5)
    c.silence_dbfs = -70.0          # peak |y| below this (dB re full scale): silence only, skipped
    return c


def augment_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.copies = 1                    # augmented copies per TRAIN file: 1 doubles the data (paper)
    c.mode = "chain"                # "chain": every op in `ops` in turn; "one_of": one per copy
    c.ops = ("pitch_shift", "time_stretch", "lowpass", "noise")  # noise last: SNR holds exactly
    c.seed = 0
    # Each (file, copy) draws its parameters uniformly from these [min, max] ranges:
    c.pitch_semitones = (-1.5, 1.5)
    c.stretch_rate = (0.85, 1.15)
    c.lowpass_cutoff_hz = (3_000.0, 6_000.0)
    c.lowpass_numtaps = 255         # Kaiser-window FIR, zero phase ("same" convolution)
    c.lowpass_stopband_db = 60.0
    c.noise_snr_db = (15.0, 30.0)   # white noise at this signal-to-noise ratio
    return c


def features_config() -> ml_collections.ConfigDict:
    """Every librosa parameter explicit, so a cached FeatureSet is a function of this section."""
    c = ml_collections.ConfigDict()
    c.n_fft = 2048                  # STFT frame (93 ms at 22,050 Hz)
    c.hop_length = 512              # 23 ms between frames
    c.center = True
    c.pad_mode = "constant"         # STFT/RMS padding; ZCR pads with "edge" as librosa does
    c.window = "hann"
    c.n_mels = 128                  # acoustic vector: ZCR 1 + chroma 12 + MFCC 20 + RMS 1 + mel 128
    c.fmin = 0.0
    c.fmax = placeholder(float)     # None = sample_rate / 2
    c.mel_htk = False
    c.mel_norm = "slaney"
    c.n_mfcc = 20
    c.stat_n_mfcc = 13              # the statistical feature "mfcc13_mean"
    c.db_amin = 1e-10
    c.db_top_db = 80.0
    c.n_chroma = 12
    c.tuning = 0.0                  # fixed: librosa would estimate it per file
    c.chroma_power = 1.0            # the authors passed S=|STFT| (magnitude) to chroma_stft
    c.zcr_threshold = 1e-10
    # "summary": the 162 per-frame features averaged over time (the paper); "frames": the
    # sequence [max_frames, 162]; openSMILE and external kinds: serjax.features.spec.
    c.acoustic = "summary"
    c.external_path = ""            # features.acoustic="external*": .npz/.npy file or folder
    c.fuse = ""                     # "" = off; egemaps, compare, summary: appended to statistical
    c.max_frames = 256              # frames kinds: cut or zero-padded to this many (5.9 s)
    c.frames_dtype = "float32"      # or "float16" (halves a frames FeatureSet)
    c.statistical = "authors8"      # the authors' 8 statistics; "paper6": the six the text lists
    c.backend = "auto"              # "librosa" | "jax" | "auto" (jax on a GPU/TPU)
    c.shard_size = 256              # files per precompute shard (the unit of caching)
    c.jax_batch_size = 64
    c.workers = placeholder(int)    # precompute processes; None = all CPUs
    return c


def folds_config(scheme: str) -> ml_collections.ConfigDict:
    """serjax.splits.schemes: a scheme name and the fields the schemes read."""
    c = ml_collections.ConfigDict()
    # "consecutive" (RAVDESS actors 1-4, 5-8, ...) | "emobox" | "superset" (11 folds of 11
    # actors) | "actor_folds" | "holdout" | "random" | "leaky" | "corpus_split"; any corpus:
    # "speaker_kfold" (num_folds folds of speakers) | "loso" | "given" (EmoBox's own folds).
    c.scheme = scheme
    c.n_folds = placeholder(int)    # None: the scheme's own (6 or 11); needed by actor_folds
    c.split_seed = 0
    c.n_val_actors = placeholder(int)  # VAL actors taken from each fold's TRAIN actors; None:
    #                                    folds.default_n_val_actors
    c.test_actors = ("ravdess/01", "ravdess/02", "ravdess/03", "ravdess/04")  # holdout (Table 1)
    c.stratify = "corpus_gender"    # actor_folds: balance each fold by corpus and gender
    c.fractions = (0.8, 0.1, 0.1)   # random / leaky: TRAIN / VAL / TEST shares of the rows
    c.test_corpora = ("savee", "tess")  # corpus_split: every actor of these corpora tests
    c.num_folds = placeholder(int)  # n_folds's other name (speaker_kfold's k); set either one
    c.val_fraction = 0.1            # given folds without (disjoint) speakers: TRAIN files to VAL
    return c


def model_config() -> ml_collections.ConfigDict:
    """SER-FusionNet (serjax.models.networks). Its extractor's fields sit directly under
    ``model`` (it is the paper's model and the default); another extractor's own fields nest
    under its kind (``model.frames_cnn``)."""
    c = ml_collections.ConfigDict()
    c.kind = "fusionnet"            # step 1's extractor; "frames_cnn" needs acoustic="frames"
    # Step 1, the Conv1D extractor over the 162-d vector read as a sequence with one channel:
    c.conv_features = (32, 64)      # one conv block per entry (the paper's two stacked Conv1D)
    c.kernel_sizes = (5, 5)
    c.pool_size = 5                 # max-pool after each conv block
    c.pool_stride = 2
    c.dropout = 0.2                 # after each pooling and after the deep layer
    c.deep_width = 32               # the "deep features" the classifier reads
    # Step 2, the classifier on [deep 32 | statistical 8 | gender 1]:
    c.mlp_hidden = (12,)            # Dense(12) -> Dense(classes), as the authors' code
    c.mlp_dropout = 0.0
    c.input_dropout = 0.0           # dropout on the classifier's input columns (0: none)
    c.fusion = "fusion"             # "fusion": [deep | statistical | gender]; "deep_only": deep;
    #                                 "late": MLP on [statistical | gender], mean with step 1's softmax
    c.late_weight = 0.5             # "late": step 1's weight in that mean (step 2's: 1 - it)
    # Beyond the paper, model.kind="frames_cnn": Conv1D over the frames [T, 162], time the
    # conv axis; padded frames masked out; an optional sequence block; pooling over time.
    c.frames_cnn = ml_collections.ConfigDict()
    c.frames_cnn.input_pool = 2     # frames first averaged in windows of 2 (23 ms hop -> 46 ms)
    # Optional 2-D (time x band) conv blocks first, for band-ordered frames such as
    # logmel_frames (serjax.models.spectral): 3 x 3 conv, ReLU, 2 x 2 max-pool each. () = none.
    c.frames_cnn.conv2d_features = ()
    c.frames_cnn.conv2d_kernel = 3
    c.frames_cnn.conv_features = (64, 64)  # one conv block per entry
    c.frames_cnn.kernel_sizes = (5, 5)
    c.frames_cnn.pool = 2           # max-pool over time after each block
    # The sequence block after the conv blocks (serjax.models.sequence): "none", "gru" (a
    # bidirectional GRU: a CRNN) or "conformer" (one block at the last conv block's width)
    c.frames_cnn.sequence = "none"
    c.frames_cnn.sequence_width = 64  # "gru": units per direction (outputs 2 x this)
    c.frames_cnn.num_heads = 4      # "conformer": attention heads, dividing its width
    c.frames_cnn.conformer_kernel = 7  # "conformer": depthwise conv kernel over time
    # Pooling over time: "mean_max" (masked mean and max), "mean_std" (statistics pooling)
    # or "attention" (attentive statistics pooling: learned frame weights, weighted mean, std)
    c.frames_cnn.pooling = "mean_max"
    c.frames_cnn.attention_width = 64  # "attention": hidden units of the frame-scoring layer
    return c


def train_config() -> ml_collections.ConfigDict:
    """The paper's recipe (Section IV) with the authors' Keras callback settings; both steps
    (extractor, then classifier) use it."""
    c = ml_collections.ConfigDict()
    c.epochs = 25                   # per step
    c.batch_size = 64
    c.learning_rate = 1e-3          # Adam
    c.plateau_factor = 0.4          # ReduceLROnPlateau(factor=0.4, patience=2, min_lr=1e-7)
    c.plateau_patience = 2
    c.min_lr = 1e-7
    c.early_stop_patience = 5       # epochs without a better VAL loss; 0 = never stop early
    c.standardize = True            # per-model StandardScaler fitted on that model's TRAIN rows
    # Beyond the paper (all off):
    c.class_balanced = False        # loss weights n / (C * n_c) from each model's TRAIN rows
    c.speaker_norm = False          # standardise each actor's rows by that actor's own statistics
    c.specaugment = ml_collections.ConfigDict()  # masks on the extractor's training batches
    c.specaugment.time_masks = 0    # frames models: masks of up to time_width frames
    c.specaugment.time_width = 20
    c.specaugment.feature_masks = 0  # bands of up to feature_width of the 162 features
    c.specaugment.feature_width = 16
    c.weight_decay = 0.0            # decoupled (AdamW); 0 = the paper's Adam
    c.classifier_weight_decay = placeholder(float)  # step 2's own decay; None: weight_decay
    c.label_smoothing = 0.0         # target 1 - s on the label, s spread over every class
    c.mixup_alpha = 0.0             # mixup of TRAIN rows, lam ~ Beta(alpha, alpha); 0 = off
    c.schedule = "plateau"          # "plateau" (the paper) | "cosine": half cosine over the epochs
    c.classifier_augmented = True   # False: step 2 trains on the original TRAIN files only
    return c


def base_config(corpus: str = "ravdess", scheme: str = "consecutive") -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.data = data_config(corpus)
    c.audio = audio_config()
    c.augment = augment_config()
    c.features = features_config()
    c.folds = folds_config(scheme)
    c.model = model_config()
    c.train = train_config()
    c.seeds = 3                     # seeds per split: models = splits × seeds, one program
    c.seed_offset = 0               # seed values are seed_offset .. seed_offset + seeds - 1
    if corpus == "superset":        # the Superset drops RAVDESS's calm and surprise
        c.labels = ("neutral", "happy", "sad", "angry", "fear", "disgust")
    else:
        c.labels = ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise")
    # How the grid runs, never what it computes (models per group, streaming, compile level,
    # checkpoint interval, conv/pool/dropout implementations): serjax.training.runtime.
    c.runtime = runtime.default_runtime_config()
    # Which trainer runs: kind "" = SER-FusionNet; "random_forest", "cnn1d", "raw_waveform",
    # "linear_svm" = a baseline on the same data, folds, seeds and roles (experiment.TRAINERS),
    # e.g. --config.baseline.kind=linear_svm --config.baseline.C=0.01.
    c.baseline = baselines.default_baseline_config("")
    c.sweep = sweep_config()
    return c


def sweep_config() -> ml_collections.ConfigDict:
    """Hyperparameter arms (serjax.training.hparams): models = splits × seeds × arms, one
    program; each fold picks its arm on its VAL speakers only. Off by default."""
    c = ml_collections.ConfigDict()
    c.method = ""                   # "" (no arms) | "grid" | "random"
    # grid: values per name, every combination an arm, e.g. learning_rate=(1e-3, 3e-3).
    # random: a distribution per name, ("log_uniform", lo, hi) | ("uniform", lo, hi) |
    # ("choice", v, ...), num_arms draws from `seed`. Names: what may differ per model.
    c.grid = ml_collections.ConfigDict({name: () for name in hparams.PER_MODEL})
    c.random = ml_collections.ConfigDict({name: () for name in hparams.PER_MODEL})
    # Structural choices, each its own compiled program trained by the same command, e.g.
    # ("model.frames_cnn.conv_features=(64, 64)", "model.frames_cnn.conv_features=(128, 128)").
    c.programs = ()                 # one ";"-separated string of overrides per program
    c.num_arms = 8
    c.seed = 0
    c.score = "val_acc"             # picks each fold's arm: "val_acc" | "neg_val_loss" (VAL only)
    c.top_k = 2                     # arms the top-k ensemble averages (best k by VAL score)
    return c
