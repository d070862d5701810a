"""Pure per-model training functions; ``serjax.engine`` adds the model axis with ``vmap``.

Everything here is written for ONE model and reads the shared data through index arrays:
an index of ``-1`` is padding (masked out), so models whose folds differ in size run the same
program. One epoch = a ``lax.scan`` over the batches of the epoch, then a masked evaluation on
the model's VAL rows, then the per-epoch bookkeeping of Keras' callbacks: reduce-on-plateau of
the learning rate (``optax.contrib.reduce_on_plateau`` fed the monitored loss once per epoch)
and early stopping that keeps the best parameters. A model that has stopped keeps running
the same program but applies no updates (``jnp.where`` on the state), so stopping needs no
data-dependent Python control flow.

Randomness: the dropout key of step ``s`` of epoch ``e`` is ``fold_in(fold_in(key, e), s)``,
a pure function of (seed, phase, epoch, step), so a resumed run repeats an uninterrupted one.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from optax import contrib as optax_contrib

# Incremented while tracing (a Python side effect), so tests can assert "compiled once".
TRACE_COUNTS: collections.Counter = collections.Counter()


class Scaler(NamedTuple):
    """Per-model feature standardisation ``(x - mean) / scale``; shapes ``[D]``."""
    mean: jax.Array
    scale: jax.Array


class PhaseState(NamedTuple):
    """Training state of one model in one phase (extractor or classifier)."""
    params: Any
    opt_state: Any
    plateau: Any  # optax.contrib.ReduceLROnPlateauState: `scale` multiplies the learning rate
    best_params: Any
    best_loss: jax.Array  # monitored loss of best_params (inf before the first epoch)
    bad_epochs: jax.Array  # epochs since the last improvement
    stopped: jax.Array  # early stopping fired: no further updates


@dataclasses.dataclass(frozen=True)
class PhaseSpec:
    """Static description of one training phase (hashable, closed over by the jitted epoch).

    apply_fn(params, x [B, D], train: bool, dropout_key) -> logits [B, C]
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

    @property
    def optimizer(self) -> optax.GradientTransformation:
        return optax.adam(self.learning_rate)

    @property
    def plateau(self) -> optax.GradientTransformationExtraArgs:
        return optax_contrib.reduce_on_plateau(
            factor=self.plateau_factor, patience=self.plateau_patience,
            min_scale=self.min_lr / self.learning_rate)


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


def standardize(x: jax.Array, scaler: Scaler) -> jax.Array:
    return (x - scaler.mean) / scaler.scale


def init_phase_state(spec: PhaseSpec, params) -> PhaseState:
    return PhaseState(
        params=params,
        opt_state=spec.optimizer.init(params),
        plateau=spec.plateau.init(params),
        best_params=params,
        best_loss=jnp.asarray(jnp.inf, jnp.float32),
        bad_epochs=jnp.asarray(0, jnp.int32),
        stopped=jnp.asarray(False))


def _tree_where(cond: jax.Array, new, old):
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), new, old)


def _masked_ce(logits: jax.Array, labels: jax.Array, mask: jax.Array):
    """(summed cross-entropy, number correct) over rows where mask is 1."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return (ce * mask).sum(), (correct * mask).sum()


def eval_sums(spec: PhaseSpec, params, scaler: Scaler, inputs, labels, rows) -> jax.Array:
    """``[loss_sum, correct, count]`` over ``rows [R]`` (R a multiple of ``spec.eval_chunk``)."""
    def chunk(idx):
        mask = (idx >= 0).astype(jnp.float32)
        safe = jnp.maximum(idx, 0)
        logits = spec.apply_fn(params, standardize(inputs[safe], scaler), False, None)
        loss, correct = _masked_ce(logits, labels[safe], mask)
        return jnp.stack([loss, correct, mask.sum()])
    return jax.lax.map(chunk, rows.reshape(-1, spec.eval_chunk)).sum(0)


def predict_logits(spec: PhaseSpec, params, scaler: Scaler, inputs, rows) -> jax.Array:
    """Logits ``[R, C]`` for ``rows [R]`` (padding rows give the logits of row 0)."""
    def chunk(idx):
        return spec.apply_fn(params, standardize(inputs[jnp.maximum(idx, 0)], scaler), False, None)
    out = jax.lax.map(chunk, rows.reshape(-1, spec.eval_chunk))
    return out.reshape(rows.shape[0], -1)


def train_epoch(spec: PhaseSpec, state: PhaseState, scaler: Scaler, inputs: jax.Array,
                labels: jax.Array, batches: jax.Array, val_rows: jax.Array,
                key: jax.Array, epoch: jax.Array) -> tuple[PhaseState, jax.Array]:
    """One epoch of one model.

    Args:
      inputs: ``[N, D]`` raw (unscaled) features of every row; labels: ``int32 [N]``.
      batches: ``int32 [S, B]`` row indices of this epoch's batches, ``-1`` = padding.
      val_rows: ``int32 [V]`` VAL rows, ``-1`` = padding (all padding: monitor the train loss).
      key: the model's dropout key for this phase; epoch: int32 scalar.
    Returns:
      (new state, ``[train_loss, train_acc, val_loss, val_acc, lr_scale, stopped]``).
    """
    TRACE_COUNTS[spec.name] += 1
    epoch_key = jax.random.fold_in(key, epoch)
    optimizer = spec.optimizer
    lr_scale = state.plateau.scale

    def step(carry, xs):
        params, opt_state, sums = carry
        idx, step_index = xs
        mask = (idx >= 0).astype(jnp.float32)
        safe = jnp.maximum(idx, 0)
        x = standardize(inputs[safe], scaler)
        y = labels[safe]
        dropout_key = jax.random.fold_in(epoch_key, step_index)

        def loss_fn(p):
            logits = spec.apply_fn(p, x, True, dropout_key)
            loss_sum, correct = _masked_ce(logits, y, mask)
            return loss_sum / jnp.maximum(mask.sum(), 1.0), (loss_sum, correct)

        (_, (loss_sum, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        updates = jax.tree.map(lambda u: u * lr_scale, updates)
        new_params = optax.apply_updates(params, updates)
        # An all-padding batch (a smaller fold) or a stopped model must not move Adam's moments.
        apply = (mask.sum() > 0) & ~state.stopped
        params = _tree_where(apply, new_params, params)
        opt_state = _tree_where(apply, new_opt_state, opt_state)
        sums = sums + jnp.stack([loss_sum, correct, mask.sum()])
        return (params, opt_state, sums), None

    steps = jnp.arange(batches.shape[0], dtype=jnp.int32)
    (params, opt_state, train), _ = jax.lax.scan(
        step, (state.params, state.opt_state, jnp.zeros(3, jnp.float32)), (batches, steps),
        unroll=min(spec.unroll, max(batches.shape[0], 1)))
    val = eval_sums(spec, params, scaler, inputs, labels, val_rows)

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
        stopped=stopped)
    metrics = jnp.stack([
        train_loss, train[1] / jnp.maximum(train[2], 1.0),
        jnp.where(val[2] > 0, val_loss, jnp.nan),
        jnp.where(val[2] > 0, val[1] / jnp.maximum(val[2], 1.0), jnp.nan),
        lr_scale * spec.learning_rate, state.stopped.astype(jnp.float32)])
    return new_state, metrics


CURVE_NAMES = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "stopped")
