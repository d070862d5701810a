"""The `serjax` command: dispatch, plain errors with exit code 2, synth → build end to end."""

import subprocess
import sys

from serjax import cli


def test_help_lists_every_subcommand(capsys):
    parser = cli.build_parser()
    help_text = parser.format_help()
    for name in ("synth", "build", "features", "cv", "demo", "predict", "stream", "export",
                 "reproduce", "compare"):
        assert name in help_text


def test_unknown_config_is_a_plain_error(capsys, tmp_path):
    assert cli.main(["cv", "--config", "no_such", "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "config 'no_such' not found" in err and "ravdess_cv" in err
    assert "Traceback" not in err


def test_overrides_only_for_config_commands(capsys, tmp_path):
    try:
        cli.main(["synth", "tess", str(tmp_path), "--config.train.epochs=3"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "overrides only apply" in capsys.readouterr().err


def test_missing_manual_dir_is_a_plain_error(capsys, tmp_path):
    rc = cli.main(["build", "savee", "--manual-dir", str(tmp_path / "nope"),
                   "--data-dir", str(tmp_path / "d")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err


def test_synth_then_build_from_the_command_line(tmp_path):
    corpus = tmp_path / "savee"
    run = lambda *a: subprocess.run([sys.executable, "-m", "serjax.cli", *a],  # noqa: E731
                                    capture_output=True, text=True, check=True)
    out = run("synth", "savee", str(corpus), "--scale", "0.05", "--quiet").stdout
    assert "savee" in out and "4 actors" in out
    out = run("build", "savee", "--manual-dir", str(corpus), "--data-dir",
              str(tmp_path / "data")).stdout
    assert "4" in out and "male" in out
