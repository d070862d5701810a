"""The ``serjax`` command: parses arguments and dispatches to library functions.

No work lives here; every subcommand calls one importable function, so notebooks and scripts
can do exactly what the command does. Heavy imports (JAX, librosa, TFDS) happen inside the
subcommand that needs them, so ``serjax --help`` is instant: the function-level imports below
are deferred for start-up time, not to dodge an import cycle (there is none; a test checks).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

CORPUS_CHOICES = ("ravdess", "crema_d", "savee", "tess")


def _cmd_synth(args: argparse.Namespace) -> None:
    from serjax.synth import corpus as synth

    summary = synth.synthesize(args.corpus, args.out_dir, scale=args.scale, seed=args.seed,
                               progress=not args.quiet)
    print(synth.format_summary(summary) if hasattr(synth, "format_summary") else summary)


def _cmd_build(args: argparse.Namespace) -> None:
    from serjax.corpora import dataset, emobox, manifest

    needs = {"manifest": ("--manifest", args.manifest),
             "emobox": ("--emobox-dir/--audio-root", args.emobox_dir and args.audio_root)}
    flag, given = needs.get(args.corpus, ("--manual-dir", args.manual_dir))
    if not given:
        raise ValueError(f"serjax build {args.corpus} needs {flag}")
    if args.corpus == "manifest":
        result = dataset.build_manifest_corpus(manifest.read(args.manifest), args.data_dir)
    elif args.corpus == "emobox":
        result = dataset.build_manifest_corpus(emobox.read(args.emobox_dir, args.audio_root),
                                               args.data_dir)
    else:
        result = dataset.build(args.corpus, args.manual_dir, args.data_dir)
    print(result.summary())


def _split_config_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """Separates ``--config.a.b=v`` overrides (absl style) from ordinary arguments."""
    overrides, rest = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--config."):
            if "=" not in arg and i + 1 < len(argv):  # "--config.a.b v" form
                arg = f"{arg}={argv[i + 1]}"
                i += 1
            overrides.append(arg)
        else:
            rest.append(arg)
        i += 1
    return overrides, rest


def _cmd_features(args: argparse.Namespace) -> None:
    from serjax import config as config_lib
    from serjax import experiment
    from serjax.features import precompute

    config = config_lib.load_config(args.config, args.overrides)
    experiment.validate(config)
    feature_set = precompute.prepare_features(config)
    print(precompute.describe(feature_set))


def _cmd_cv(args: argparse.Namespace) -> None:
    from serjax import config as config_lib
    from serjax import experiment
    from serjax.training import distributed

    config = config_lib.load_config(args.config, args.overrides)
    distributed.initialize_from_args(args)
    experiment.run_cv(config, args.workdir)


def _cmd_demo(args: argparse.Namespace) -> None:
    from serjax import demo

    demo.run_demo(workdir=args.workdir, scale=args.scale, seeds=args.seeds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serjax",
        description="Speech emotion recognition in JAX: every actor fold and seed at once.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("synth", help="write a synthetic corpus in its exact Kaggle layout")
    p.add_argument("corpus", choices=CORPUS_CHOICES + ("all",))
    p.add_argument("out_dir", type=Path)
    p.add_argument("--scale", type=float, default=0.1,
                   help="fraction of each actor's files per class (1.0 = full corpus)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("build", help="prepare a corpus (Kaggle folder, manifest or EmoBox "
                                     "folder) as a TFDS dataset")
    p.add_argument("corpus", choices=CORPUS_CHOICES + ("manifest", "emobox"))
    p.add_argument("--manual-dir", type=Path, default=None,
                   help="the corpus folder as unpacked from Kaggle (the four Kaggle corpora)")
    p.add_argument("--manifest", type=Path, default=None,
                   help="manifest: a .csv/.tsv/.jsonl file with columns path, emotion, speaker")
    p.add_argument("--emobox-dir", type=Path, default=None,
                   help="emobox: EmoBox's data/<corpus>/ folder")
    p.add_argument("--audio-root", type=Path, default=None,
                   help="emobox: the folder EmoBox's wav paths start from")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where prepared datasets go (default $SERJAX_DATA_DIR or "
                        "~/tensorflow_datasets)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("features", help="precompute a config's features (cached)")
    p.add_argument("--config", required=True, help="configs/NAME.py or NAME")
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser("cv", help="run a config's cross-validation: all folds × seeds at once")
    p.add_argument("--config", required=True, help="configs/NAME.py or NAME")
    p.add_argument("--workdir", type=Path, required=True, help="outputs and checkpoints")
    from serjax.training import distributed

    distributed.add_arguments(p)
    p.set_defaults(func=_cmd_cv)

    p = sub.add_parser("demo", help="the main job: synthetic RAVDESS → build → features → CV")
    p.add_argument("--workdir", type=Path, default=Path("runs/demo"))
    p.add_argument("--scale", type=float, default=None, help="synthetic corpus scale")
    p.add_argument("--seeds", type=int, default=None, help="seeds per fold")
    p.set_defaults(func=_cmd_demo)

    # Subcommands whose arguments live in their stage (modules that import no JAX at load:
    # serve.commands and paper.commands import the code they run inside their handlers).
    from serjax.evaluation import compare
    from serjax.paper import commands as paper_commands
    from serjax.serve import commands as serve_commands

    for module in (serve_commands, paper_commands, compare):
        module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides, rest = _split_config_overrides(argv)
    parser = build_parser()
    args = parser.parse_args(rest)
    args.overrides = overrides
    if overrides and args.command not in ("features", "cv"):
        parser.error(f"--config.FIELD=VALUE overrides only apply to features/cv: {overrides}")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("serjax: interrupted; finished work is kept (caches and checkpoints resume)",
              file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as err:
        if os.environ.get("SERJAX_DEBUG"):
            raise
        print(f"serjax {args.command}: error: {err}", file=sys.stderr)
        print("(set SERJAX_DEBUG=1 for the full traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
