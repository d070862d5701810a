"""The package's house rules: imports run one way and every module imports on its own."""

import ast
import concurrent.futures
import importlib
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "serjax"
#: Modules whose function-level imports are deferred for start-up time (each says so).
DEFERRED_FOR_STARTUP = {"serjax.cli", "serjax.features.extract", "serjax.features.spec",
                        "serjax.serve.commands", "serjax.paper.commands"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imported(module: str, path: pathlib.Path, node) -> set[str]:
    """serjax modules named by one import statement (``from a import b`` may name a.b)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if path.name == "__init__.py" else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    return {base} | {f"{base}.{a.name}" for a in node.names}


def import_graph(function_level: bool = True) -> dict[str, set[str]]:
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        tree = ast.parse(path.read_text())
        nodes = ast.walk(tree) if function_level else tree.body
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[m] |= {t for t in _imported(m, path, node)
                             if t in mods and t != m and not t.startswith(m + ".")
                             and not m.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_counting_function_level_imports():
    assert cycles(import_graph(function_level=True)) == []


def test_function_level_imports_only_where_deferred_for_startup():
    offenders = []
    for m, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0:
                names = _imported(m, path, node)
                if any(n == "serjax" or n.startswith("serjax.") for n in names):
                    if m not in DEFERRED_FOR_STARTUP:
                        offenders.append(f"{m}:{node.lineno}")
    assert offenders == []


def test_stage_folders_hold_the_modules():
    stages = {"corpora", "synth", "features", "splits", "models", "training", "evaluation",
              "serve", "paper"}
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == stages
    top = {p.stem for p in ROOT.glob("*.py")}
    assert top == {"__init__", "atomic", "cli", "config", "demo", "experiment"}


def test_no_module_over_the_size_limit():
    too_long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 420}
    assert too_long == {}


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(_modules())
    # One interpreter per module: a module that imports only because another one was imported
    # first fails here. The interpreters run side by side (one per core): importing is most of
    # the suite's single slowest test otherwise.
    def import_alone(name):
        result = subprocess.run([sys.executable, "-c", f"import {name}"],
                                capture_output=True, text=True, timeout=120)
        return f"{name}: {result.stderr.strip().splitlines()[-1]}" if result.returncode else None

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failures = [f for f in pool.map(import_alone, names) if f]
    assert failures == []
    assert importlib.import_module("serjax.experiment").TRAINERS
