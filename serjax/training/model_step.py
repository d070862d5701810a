"""Pure per-model training functions; ``serjax.training.programs`` adds the model axis with ``vmap``.

Everything here is written for ONE model and reads the shared data through index arrays:
an index of ``-1`` is padding (masked out), so models whose folds differ in size run the same
program. One epoch = a ``lax.scan`` over the batches of the epoch, then a masked evaluation on
the model's VAL rows, then the per-epoch bookkeeping of Keras' callbacks: reduce-on-plateau of
the learning rate (``optax.contrib.reduce_on_plateau`` fed the monitored loss once per epoch)
and early stopping that keeps the best parameters. A model that has stopped keeps running
the same program but applies no updates (``jnp.where`` on the state), so stopping needs no
data-dependent Python control flow.

Randomness: the dropout key of step ``s`` of epoch ``e`` is ``fold_in(fold_in(key, e), s)``,
a pure function of (seed, phase, epoch, step), so a resumed run repeats an uninterrupted one;
the SpecAugment masks of that step use ``fold_in(dropout key, AUGMENT_STREAM)``.

Inputs are a single array ``[N, D]`` (summary features, fused features) or, for the frames
extractor, ``{"frames": [N, T, F], "mask": [N, T]}``; rows are gathered with ``gather_rows``.

Options beyond the paper (off by default, see ``PhaseSpec``; the regularisers live in
``serjax.training.regularizers``): SpecAugment-style masks, mixup, label smoothing, a
class-balanced loss whose weights come from the model's own TRAIN rows, decoupled weight decay
(AdamW) and a cosine learning-rate schedule in place of reduce-on-plateau.

Hyperparameter arms: ``hp`` is a dict of this model's own scalars (``serjax.training.hparams``
names them, e.g. ``{"learning_rate": 3e-3, "weight_decay": 1e-4}``); a name in ``hp``
replaces the ``PhaseSpec`` field of the same name, so models that differ only in those values
train in one program (the model axis is folds × seeds × arms). A name not in ``hp`` is the
static ``PhaseSpec`` value, so a grid without arms compiles exactly as before.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from optax import contrib as optax_contrib

from serjax.training import regularizers
from serjax.training.regularizers import AUGMENT_STREAM, MIXUP_STREAM, SpecAugment

SCHEDULES = ("plateau", "cosine")



class Scaler(NamedTuple):
    """Per-model feature standardisation ``(x - mean) / scale``; shapes ``[D]``."""
    mean: jax.Array
    scale: jax.Array


class EpochMetrics(NamedTuple):
    """One epoch of one model (scalars; ``[M]`` arrays once vmapped, ``[epochs, M]`` curves).
    Losses and accuracies are means over the epoch's TRAIN rows and over the VAL rows (NaN
    without VAL rows); ``lr`` the learning rate the epoch trained with; ``stopped`` 1.0 if
    early stopping had already fired (the epoch changed nothing)."""
    train_loss: jax.Array
    train_acc: jax.Array
    val_loss: jax.Array
    val_acc: jax.Array
    lr: jax.Array
    stopped: jax.Array


CURVE_NAMES = EpochMetrics._fields


class PhaseState(NamedTuple):
    """Training state of one model in one phase (extractor or classifier)."""
    params: Any
    opt_state: Any
    plateau: Any  # optax.contrib.ReduceLROnPlateauState: `scale` multiplies the learning rate
    best_params: Any
    best_loss: jax.Array  # monitored loss of best_params (inf before the first epoch)
    bad_epochs: jax.Array  # epochs since the last improvement
    stopped: jax.Array  # early stopping fired: no further updates
    epoch: jax.Array  # epochs trained in this phase (the cosine schedule's clock)


@dataclasses.dataclass(frozen=True)
class PhaseSpec:
    """Static description of one training phase (hashable, closed over by the jitted epoch).

    apply_fn(params, x [B, D], train: bool, dropout_key, dropout=None) -> logits [B, C]
    (``dropout``: a per-model rate replacing the module's own, when an arm sets it).
    """
    name: str
    apply_fn: Callable
    learning_rate: float
    plateau_factor: float
    plateau_patience: int
    min_lr: float
    early_stop_patience: int  # 0 disables early stopping (best params are still kept)
    unroll: int
    eval_chunk: int
    num_classes: int = 0  # needed by class_balanced
    class_balanced: bool = False  # loss weights n / (C_present * n_c) from the TRAIN rows
    augment: SpecAugment = SpecAugment()  # training batches only
    weight_decay: float = 0.0  # decoupled (AdamW): p -= lr * wd * p each step
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0  # lam ~ Beta(alpha, alpha) per batch; 0 = off
    schedule: str = "plateau"  # or "cosine": lr * (1 + cos(pi * epoch / epochs)) / 2
    epochs: int = 0  # the cosine schedule's length (unused by "plateau")
    dropout_name: str = ""  # the ``hp`` name of this phase's dropout rate ("dropout", ...)
    decay_name: str = "weight_decay"  # the ``hp`` name of this phase's own weight decay

    @property
    def optimizer(self) -> optax.GradientTransformation:
        """Adam's moments only: the step scales them by the (per-model) learning rate."""
        return optax.scale_by_adam()

    @property
    def plateau(self) -> optax.GradientTransformationExtraArgs:
        return optax_contrib.reduce_on_plateau(
            factor=self.plateau_factor, patience=self.plateau_patience,
            min_scale=self.min_lr / self.learning_rate)


def hparam(spec: PhaseSpec, hp: dict | None, name: str):
    """This model's value of hyperparameter ``name``: its arm's (``hp``) or the spec's."""
    return hp[name] if hp and name in hp else getattr(spec, name)


def sweeps(spec: PhaseSpec, hp: dict | None, name: str) -> bool:
    """True when ``name`` is set per model (so its regulariser must run even at 0)."""
    return bool(hp) and name in hp


def lr_factor(spec: PhaseSpec, state: "PhaseState") -> jax.Array:
    """What multiplies the learning rate this epoch: the plateau's scale, or the cosine
    schedule's ``(1 + cos(pi * epoch / epochs)) / 2`` floored at ``min_lr / learning_rate``."""
    if spec.schedule == "plateau":
        return state.plateau.scale
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * state.epoch / max(spec.epochs, 1)))
    return jnp.maximum(cosine, spec.min_lr / spec.learning_rate).astype(jnp.float32)


def gather_rows(inputs, idx: jax.Array):
    """Rows ``idx [...]`` of every leaf of ``inputs`` (leading axis N); -1 reads row 0."""
    safe = jnp.maximum(idx, 0)
    return jax.tree.map(lambda a: a[safe], inputs)


def fit_scaler(inputs: jax.Array, rows: jax.Array, enabled: bool) -> Scaler:
    """Mean and std of ``inputs[rows]`` over valid rows (``rows >= 0``), like sklearn's
    StandardScaler (population std; a constant column gets scale 1). ``inputs [N, D]``."""
    width = inputs.shape[-1]
    if not enabled:
        return Scaler(jnp.zeros(width, inputs.dtype), jnp.ones(width, inputs.dtype))
    mask = (rows >= 0).astype(inputs.dtype)[:, None]
    x = inputs[jnp.maximum(rows, 0)]
    n = jnp.maximum(mask.sum(), 1.0)
    mean = (x * mask).sum(0) / n
    var = (jnp.square(x - mean) * mask).sum(0) / n
    return Scaler(mean, jnp.where(var > 0, jnp.sqrt(var), 1.0))


def frame_row_stats(frames: jax.Array, mask: jax.Array):
    """Per row, over its real frames: count ``[N]``, mean ``[N, F]`` and the sum of squared
    deviations from that mean ``[N, F]`` (rows are combined per model by
    ``fit_scaler_from_row_stats``; centring per row keeps float32 accurate)."""
    m = mask.astype(jnp.float32)[..., None]
    count = m.sum(1)
    mean = (frames.astype(jnp.float32) * m).sum(1) / jnp.maximum(count, 1.0)
    ss = (jnp.square(frames.astype(jnp.float32) - mean[:, None, :]) * m).sum(1)
    return count[:, 0], mean, ss


def fit_scaler_from_row_stats(stats, rows: jax.Array, enabled: bool) -> Scaler:
    """``fit_scaler`` for frames: mean/std over every real frame of ``rows`` (``-1`` =
    padding), pooled from ``frame_row_stats`` (Chan et al.'s parallel variance)."""
    count, mean, ss = stats
    if not enabled:
        return Scaler(jnp.zeros(mean.shape[-1]), jnp.ones(mean.shape[-1]))
    safe = jnp.maximum(rows, 0)
    n_r = count[safe] * (rows >= 0)
    n = jnp.maximum(n_r.sum(), 1.0)
    total_mean = (mean[safe] * n_r[:, None]).sum(0) / n
    spread = (jnp.square(mean[safe] - total_mean) * n_r[:, None]).sum(0)
    var = ((ss[safe] * (n_r > 0)[:, None]).sum(0) + spread) / n
    return Scaler(total_mean, jnp.where(var > 0, jnp.sqrt(var), 1.0))


def standardize(x, scaler: Scaler):
    """``(x - mean) / scale``; for ``{"frames", "mask"}`` inputs padded frames stay 0; a
    tuple (a model's own columns, the columns every model shares) is concatenated first."""
    if isinstance(x, tuple):
        x = jnp.concatenate(x, axis=-1)
    if isinstance(x, dict):
        mask = x["mask"]
        frames = (x["frames"].astype(jnp.float32) - scaler.mean) / scaler.scale
        return {"frames": frames * mask[..., None].astype(jnp.float32), "mask": mask}
    return (x - scaler.mean) / scaler.scale


def init_phase_state(spec: PhaseSpec, params) -> PhaseState:
    return PhaseState(
        params=params,
        opt_state=spec.optimizer.init(params),
        plateau=spec.plateau.init(params),
        best_params=params,
        best_loss=jnp.asarray(jnp.inf, jnp.float32),
        bad_epochs=jnp.asarray(0, jnp.int32),
        stopped=jnp.asarray(False),
        epoch=jnp.asarray(0, jnp.int32))


def _tree_where(cond: jax.Array, new, old):
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), new, old)


def _masked_ce(logits: jax.Array, labels: jax.Array, mask: jax.Array, weights=None,
               smoothing=0.0):
    """(summed cross-entropy, number correct) over rows where mask is 1; the cross-entropy
    of a row is scaled by ``weights[label]`` when class weights are given and taken against
    labels smoothed by ``smoothing``."""
    ce = regularizers.cross_entropy(logits, labels, smoothing)
    if weights is not None:
        ce = ce * weights[labels]
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return (ce * mask).sum(), (correct * mask).sum()


def eval_chunk_sums(spec: PhaseSpec, params, scaler: Scaler, raw, labels, idx,
                    weights=None) -> jax.Array:
    """``[loss_sum, correct, count]`` of one chunk: ``raw`` the unscaled inputs of rows
    ``idx [R]`` (``-1`` = padding, masked out)."""
    mask = (idx >= 0).astype(jnp.float32)
    logits = spec.apply_fn(params, standardize(raw, scaler), False, None)
    loss, correct = _masked_ce(logits, labels[jnp.maximum(idx, 0)], mask, weights)
    return jnp.stack([loss, correct, mask.sum()])


def eval_sums(spec: PhaseSpec, params, scaler: Scaler, inputs, labels, rows,
              weights=None) -> jax.Array:
    """``[loss_sum, correct, count]`` over ``rows [R]`` (R a multiple of ``spec.eval_chunk``)."""
    def chunk(idx):
        return eval_chunk_sums(spec, params, scaler, gather_rows(inputs, idx), labels, idx,
                               weights)
    return jax.lax.map(chunk, rows.reshape(-1, spec.eval_chunk)).sum(0)


def predict_logits(spec: PhaseSpec, params, scaler: Scaler, inputs, rows) -> jax.Array:
    """Logits ``[R, C]`` for ``rows [R]`` (padding rows give the logits of row 0)."""
    def chunk(idx):
        return spec.apply_fn(params, standardize(gather_rows(inputs, idx), scaler), False, None)
    out = jax.lax.map(chunk, rows.reshape(-1, spec.eval_chunk))
    return out.reshape(rows.shape[0], -1)


def scan_unroll(steps: int, requested: int) -> int:
    """The largest divisor of ``steps`` that is <= ``requested``. ``lax.scan`` compiles
    ``steps % unroll`` extra copies of the step after the unrolled loop, and compile time grows
    with the copies (30 steps at unroll 8: 14 copies; at 6: 6, for the same speed)."""
    requested = max(1, min(requested, steps))
    return max(u for u in range(1, requested + 1) if steps % u == 0)


def train_epoch(spec: PhaseSpec, state: PhaseState, scaler: Scaler, inputs: jax.Array,
                labels: jax.Array, batches: jax.Array, val_rows: jax.Array,
                key: jax.Array, epoch: jax.Array, hp: dict | None = None
                ) -> tuple[PhaseState, EpochMetrics]:
    """One epoch of one model.

    Args:
      inputs: ``[N, D]`` raw (unscaled) features of every row, or ``{"frames": [N, T, F],
        "mask": [N, T]}``; labels: ``int32 [N]``.
      batches: ``int32 [S, B]`` row indices of this epoch's batches, ``-1`` = padding.
      val_rows: ``int32 [V]`` VAL rows, ``-1`` = padding (all padding: monitor the train loss).
      key: the model's dropout key for this phase; epoch: int32 scalar.
      hp: this model's hyperparameters that differ per model (module docstring), or None.
    Returns:
      (new state, the epoch's ``EpochMetrics``).

    The same epoch in pieces (``epoch_begin``, ``train_steps`` over chunks of the batches,
    ``eval_chunk_sums`` over chunks of the VAL rows, ``epoch_end``) is what
    ``serjax.training.host_input`` runs when the inputs stay in host memory.
    """
    carry, epoch_key, weights = epoch_begin(spec, state, labels, batches, key, epoch)
    params, opt_state, train = train_steps(
        spec, state, carry, scaler, labels, batches, jnp.int32(0), epoch_key, weights,
        inputs=inputs, hp=hp)
    val = eval_sums(spec, params, scaler, inputs, labels, val_rows, weights)
    return epoch_end(spec, state, params, opt_state, train, val, hp)


def epoch_begin(spec: PhaseSpec, state: PhaseState, labels, batches, key, epoch):
    """(training carry ``(params, opt_state, sums)``, the epoch's dropout key, the class
    weights or None) at the start of an epoch whose batches are ``batches [S, B]``."""
    weights = (regularizers.class_weights(labels, batches, spec.num_classes)
               if spec.class_balanced else None)
    carry = (state.params, state.opt_state, jnp.zeros(3, jnp.float32))
    return carry, jax.random.fold_in(key, epoch), weights


def _augmented(spec: PhaseSpec, hp, x, key):
    """The batch after SpecAugment, when this phase masks (per-model widths from ``hp``)."""
    aug = spec.augment
    widths = {name: hp[name] for name in ("time_width", "feature_width") if sweeps(spec, hp, name)}
    if not (aug.active or (widths and aug.time_masks + aug.feature_masks > 0)):
        return x
    return regularizers.spec_augment(x, jax.random.fold_in(key, AUGMENT_STREAM), aug, **widths)


def _decayed(spec: PhaseSpec, hp, updates, params, lr):
    """AdamW's step ``-lr * (adam + wd * p)``, or Adam's ``-lr * adam`` when no model decays.
    ``wd``: the arm's value of this phase's own name (step 2: ``classifier_weight_decay``),
    else the arm's ``weight_decay``, else the spec's."""
    name = next((n for n in (spec.decay_name, "weight_decay") if sweeps(spec, hp, n)), None)
    if name is None and spec.weight_decay == 0:
        return jax.tree.map(lambda u: u * -lr, updates)
    wd = spec.weight_decay if name is None else hp[name]
    return jax.tree.map(lambda u, p: -lr * (u + wd * p), updates, params)


def train_steps(spec: PhaseSpec, state: PhaseState, carry, scaler: Scaler, labels, batches,
                first_step, epoch_key, weights, *, inputs=None, raw=None, hp=None):
    """``lax.scan`` of training steps over ``batches [K, B]`` (steps ``first_step`` ..
    ``first_step + K - 1`` of the epoch) from ``carry = (params, opt_state, sums)``.

    Each step's unscaled inputs are gathered from ``inputs`` (rows on the device), or given
    as ``raw [K, B, ...]`` (gathered on the host: ``serjax.training.host_input``)."""
    lr_scale = lr_factor(spec, state)
    lr = hparam(spec, hp, "learning_rate")
    smoothing = hparam(spec, hp, "label_smoothing")
    mixing = sweeps(spec, hp, "mixup_alpha") or spec.mixup_alpha > 0
    dropout = hp[spec.dropout_name] if sweeps(spec, hp, spec.dropout_name) else None
    optimizer = spec.optimizer

    def step(carry, xs):
        params, opt_state, sums = carry
        if raw is None:
            idx, step_index = xs
            x_raw = gather_rows(inputs, idx)
        else:
            idx, step_index, x_raw = xs
        mask = (idx >= 0).astype(jnp.float32)
        x = standardize(x_raw, scaler)
        y = labels[jnp.maximum(idx, 0)]
        dropout_key = jax.random.fold_in(epoch_key, step_index)
        x = _augmented(spec, hp, x, dropout_key)
        lam, partner = jnp.float32(1.0), None
        if mixing:
            lam, partner = regularizers.mixup_partners(
                jax.random.fold_in(dropout_key, MIXUP_STREAM), idx >= 0,
                hparam(spec, hp, "mixup_alpha"))
            x = regularizers.mix(x, lam, partner)

        def loss_fn(p):
            logits = spec.apply_fn(p, x, True, dropout_key, dropout)
            loss_sum, correct = _masked_ce(logits, y, mask, weights, smoothing)
            if partner is not None:  # mixup: the same mix of the two rows' losses
                other, _ = _masked_ce(logits, y[partner], mask, weights, smoothing)
                loss_sum = lam * loss_sum + (1.0 - lam) * other
            return loss_sum / jnp.maximum(mask.sum(), 1.0), (loss_sum, correct)

        (_, (loss_sum, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        updates = jax.tree.map(lambda u: u * lr_scale, _decayed(spec, hp, updates, params, lr))
        new_params = optax.apply_updates(params, updates)
        # An all-padding batch (a smaller fold) or a stopped model must not move Adam's moments.
        apply = (mask.sum() > 0) & ~state.stopped
        params = _tree_where(apply, new_params, params)
        opt_state = _tree_where(apply, new_opt_state, opt_state)
        sums = sums + jnp.stack([loss_sum, correct, mask.sum()])
        return (params, opt_state, sums), None

    steps = first_step + jnp.arange(batches.shape[0], dtype=jnp.int32)
    xs = (batches, steps) if raw is None else (batches, steps, raw)
    carry, _ = jax.lax.scan(step, carry, xs, unroll=scan_unroll(batches.shape[0], spec.unroll))
    return carry


def epoch_end(spec: PhaseSpec, state: PhaseState, params, opt_state, train: jax.Array,
              val: jax.Array, hp: dict | None = None) -> tuple[PhaseState, EpochMetrics]:
    """Keras' per-epoch callbacks from the epoch's ``[loss_sum, correct, count]`` sums of
    TRAIN (``train``) and VAL (``val``): reduce-on-plateau, best parameters, early stopping.
    Returns (new state, the epoch's ``EpochMetrics``)."""
    lr = lr_factor(spec, state) * hparam(spec, hp, "learning_rate")
    train_loss = train[0] / jnp.maximum(train[2], 1.0)
    val_loss = val[0] / jnp.maximum(val[2], 1.0)
    monitored = jnp.where(val[2] > 0, val_loss, train_loss)
    _, new_plateau = spec.plateau.update({}, state.plateau, value=monitored)
    plateau = _tree_where(state.stopped, state.plateau, new_plateau)
    improved = (monitored < state.best_loss) & ~state.stopped
    bad_epochs = jnp.where(improved, 0, state.bad_epochs + 1)
    stopped = state.stopped
    if spec.early_stop_patience > 0:
        stopped = stopped | (bad_epochs >= spec.early_stop_patience)
    new_state = PhaseState(
        params=params, opt_state=opt_state, plateau=plateau,
        best_params=_tree_where(improved, params, state.best_params),
        best_loss=jnp.where(improved, monitored, state.best_loss),
        bad_epochs=jnp.where(state.stopped, state.bad_epochs, bad_epochs),
        stopped=stopped, epoch=state.epoch + 1)
    metrics = EpochMetrics(
        train_loss=train_loss, train_acc=train[1] / jnp.maximum(train[2], 1.0),
        val_loss=jnp.where(val[2] > 0, val_loss, jnp.nan),
        val_acc=jnp.where(val[2] > 0, val[1] / jnp.maximum(val[2], 1.0), jnp.nan),
        lr=lr, stopped=state.stopped.astype(jnp.float32))
    return new_state, jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), metrics)
