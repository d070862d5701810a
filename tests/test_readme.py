"""The README's two commands are what CI and users run; keep them honest."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [next(line for line in b.splitlines() if line and not line.startswith("#"))
            for b in blocks[:2]]


def test_ci_runs_the_readme_test_command():
    install_and_run, install_and_test = _readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in ci_lines
    assert install_and_run.endswith("serjax demo")
    assert install_and_test.endswith("pytest -q")
