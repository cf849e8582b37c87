"""bootgate's kickstart checker against pykickstart's ksvalidator, on thousands of mutants.

generate.py makes COUNT kickstarts (seeded, so every run checks the same files) as mutations of
the valid seeds. Each is checked by `bootgate validate --json` (one process for all of them) and
by ksvalidator's own `main()` loaded in this process (one process start per file would take
minutes), with `-v F43`, the version bootgate's table is written for. The verdicts (any error or
none) must agree, except where bootgate is stricter on purpose: STRICTER lists those rules, each
with its reason, and a file may differ only when every error bootgate reports on it is one of
them. bootgate accepting what ksvalidator refuses is never allowed.
"""
import collections
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("BOOTGATE_BIN", os.path.join(ROOT, ".build", "debug", "bootgate"))
COUNT = int(os.environ.get("KS_MUTANTS", "2400"))
SEED = int(os.environ.get("KS_SEED", "18"))

# Rules where bootgate refuses what ksvalidator accepts, on purpose: (name, pattern every
# bootgate error of the file must match, reason).
STRICTER = [
    ("single-use command repeated",
     re.compile(r"(\S+ may be used only once|only one of \S+ may be used) \(first on line \d+\)"),
     "pykickstart silently keeps the last of two `lang`, `rootpw`, `reboot`/`poweroff`, … lines; "
     "the author cannot have meant both, and which one wins is invisible in the file"),
    ("unknown volgroup option",
     re.compile(r"volgroup: option \S+ is not known"),
     "pykickstart's volgroup takes an unknown option (a typo such as --reserved-spce) for the name of "
     "a member physical volume, so the typo silently becomes a missing PV at install time"),
    ("autopart after mount",
     re.compile(r"autopart cannot be used with mount \(line \d+\)"),
     "pykickstart refuses `mount` after `autopart` but not `autopart` after `mount` (only mount lists the "
     "conflict); the two cannot work together in either order, so bootgate refuses both"),
]


def ksvalidator_main():
    path = shutil.which("ksvalidator")
    if not path:
        pytest.fail("ksvalidator is not on PATH: pip install pykickstart (scripts/install-deps.sh installs it)")
    # pyenv puts a shell shim on PATH; the Python script is beside the interpreter.
    with open(path, "rb") as f:
        if not f.read(2) == b"#!" or b"python" not in f.readline():
            path = os.path.join(os.path.dirname(sys.executable), "ksvalidator")
    loader = importlib.machinery.SourceFileLoader("ksvalidator_main", path)
    spec = importlib.util.spec_from_loader("ksvalidator_main", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module.main


_MAIN = None


def ksvalidator_verdict(path):
    """(refused, message) from ksvalidator -v F43 on one file."""
    global _MAIN
    if _MAIN is None:
        _MAIN = ksvalidator_main()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc, messages = _MAIN(["-v", generate.VERSION, path])
    return rc != 0, (" ".join(messages) + " " + err.getvalue()).replace("\n", " ").strip()


def bootgate_verdicts(paths):
    p = subprocess.run([BINARY, "validate", "--format", "kickstart", "--json", *paths], capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr
    reports = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(reports) == len(paths), p.stdout[-2000:] + p.stderr
    return {r["file"]: [d["text"] for d in r["diagnostics"] if d["severity"] == "error"] for r in reports}


def stricter_rule(errors):
    """The STRICTER rules covering every one of a file's errors (joined), or None."""
    names = set()
    for error in errors:
        matching = [name for name, pattern, _ in STRICTER if pattern.search(error)]
        if not matching:
            return None
        names.update(matching)
    return " + ".join(sorted(names)) or None


@pytest.fixture(scope="module")
def mutants(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mutants")
    out = []
    for name, text, what in generate.mutants(COUNT, SEED):
        path = str(folder / (name + ".ks"))
        with open(path, "w") as f:
            f.write(text)
        out.append((path, what))
    return out


def test_seeds_are_valid_for_both():
    paths = [os.path.join(generate.SEEDS, n + ".ks") for n in generate.seeds()]
    bootgate = bootgate_verdicts(paths)
    for path in paths:
        refused, message = ksvalidator_verdict(path)
        assert not refused, f"{path}: {message}"
        assert bootgate[path] == [], f"{path}: {bootgate[path]}"


def test_generation_is_deterministic():
    assert generate.mutants(50, SEED) == generate.mutants(50, SEED)
    assert generate.mutants(50, SEED) != generate.mutants(50, SEED + 1)


def test_verdicts_agree_with_ksvalidator(mutants):
    paths = [p for p, _ in mutants]
    bootgate = bootgate_verdicts(paths)
    workers = min(4, os.cpu_count() or 1)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        ks = dict(zip(paths, pool.map(ksvalidator_verdict, paths, chunksize=50)))

    counts = collections.Counter()
    unlisted = []
    for path, what in mutants:
        refused, message = ks[path]
        errors = bootgate[path]
        counts["refused by ksvalidator" if refused else "accepted by ksvalidator"] += 1
        if refused == bool(errors):
            counts["agree"] += 1
            continue
        rule = stricter_rule(errors) if errors else None
        if rule:
            counts[f"stricter: {rule}"] += 1
            continue
        side = "bootgate refuses, ksvalidator accepts" if errors else "bootgate accepts, ksvalidator refuses"
        unlisted.append(f"{os.path.basename(path)} ({what}): {side}\n  ksvalidator: {message[:300]}\n  bootgate: {errors[:3]}")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"\n{len(mutants)} kickstarts: {summary}")
    assert counts["refused by ksvalidator"] > len(mutants) // 3, "the mutants should mostly be invalid: " + summary
    assert not unlisted, f"{len(unlisted)} unlisted disagreements ({summary}):\n" + "\n".join(unlisted[:30])


def test_the_issue_examples_are_refused_with_line_and_reason(tmp_path):
    cases = {
        "rootpw --plaintxt x": "line 1: rootpw: option --plaintxt is not known; did you mean --plaintext?",
        "rootpw --plaintext": "rootpw: needs a password (or --lock)",
        "autopart --type=lvmm": "autopart: option --type does not accept lvmm; choose one of lvm, btrfs, plain, partition, thinp; did you mean lvm?",
        "keyboard": "keyboard: needs a layout",
    }
    paths = []
    for i, line in enumerate(cases):
        path = tmp_path / f"case{i}.ks"
        path.write_text(line + "\n")
        paths.append(str(path))
        assert ksvalidator_verdict(str(path))[0], line
    verdicts = bootgate_verdicts(paths)
    for path, (line, expected) in zip(paths, cases.items()):
        shown = [e.replace(":1: ", ": line 1: ", 1).split(": ", 1)[1] for e in verdicts[path]]
        assert any(expected in s for s in shown), f"{line}: {verdicts[path]}"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    path = tmp_path / "many.ks"
    path.write_text("rootpw --plaintxt x\nautopart --type=lvmm\nkeyboard\nfrobnicate\nlang\n")
    errors = bootgate_verdicts([str(path)])[str(path)]
    assert [int(e.split(":")[1]) for e in errors] == [1, 2, 3, 4, 5], errors
