"""The package as a user installs it: ``pip install "loopfind[app]"`` from a clean clone or
the wheel gives a ``loopfind`` command whose every command works from any folder, ``loopfind
app`` serving the app with its safe settings, and every runtime dependency declared.

The fast tests check the declarations against the source (every package listed for the wheel,
every third-party import declared where it belongs, requirements.txt only pointing at
pyproject.toml); the slow ones build the wheel, install it into a fresh virtual environment
and run the README's commands from a folder outside the checkout, and run the GPU check's dry
run.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import tomllib

from testkit.browser import free_port

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGES = ("loopfind_core", "loopfind_app")
# The top-level folders and files the wheel carries inside the packages (pyproject.toml)
MAPPED = {"checkpoints": "loopfind_core/checkpoints", "pages": "loopfind_app/site/pages",
          "app.py": "loopfind_app/site/app.py",
          ".streamlit/config.toml": "loopfind_app/site/.streamlit/config.toml"}
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "app.py", "pages", "checkpoints",
                ".streamlit", *PACKAGES)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "exp", "*.partial")


def normalized(requirement: str) -> str:
    """The distribution name of a requirement, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement)[0]).lower()


def declared(*extras: str) -> set[str]:
    """The distributions pyproject.toml declares (with ``extras``), normalised."""
    requirements = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        requirements += PYPROJECT["project"]["optional-dependencies"][extra]
    return {normalized(r) for r in requirements}


def provided(*extras: str) -> set[str]:
    """:func:`declared`, and what a declared requirement's own extras bring (``dask[distributed]``
    brings ``distributed``), as the installed distributions say."""
    names = declared(*extras)
    requirements = list(PYPROJECT["project"]["dependencies"])
    for extra in extras:
        requirements += PYPROJECT["project"]["optional-dependencies"][extra]
    for requirement in requirements:
        wanted = re.match(r"[A-Za-z0-9_.-]+\[([^\]]+)\]", requirement)
        if not wanted:
            continue
        for extra in wanted[1].split(","):
            marker = re.compile(rf"extra\s*==\s*['\"]{re.escape(extra.strip())}['\"]")
            names |= {normalized(r) for r in importlib.metadata.requires(
                normalized(requirement)) or [] if marker.search(r)}
    return names


def third_party_imports(*paths: Path) -> dict[str, set[str]]:
    """{top-level module: files importing it} for every import of a module that is neither
    in the standard library nor in this repository (function-level imports included)."""
    local = {p.stem for p in REPO.iterdir()} | {p.stem for p in (REPO / "scripts").glob("*.py")}
    found: dict[str, set[str]] = {}
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


@pytest.mark.parametrize("sources, extras, where", [
    (("loopfind_core",), ("gpu",), "dependencies"),  # gpu: its faiss is the same module
    (("loopfind_app", "pages", "app.py"), ("app", "gpu"), "the app extra"),
    (("tests", "testkit", "scripts"), ("app", "test", "gpu"), "the test extra"),
], ids=["core", "app", "tests"])
def test_every_third_party_import_is_declared_where_it_belongs(sources, extras, where):
    """What the core imports is a dependency of ``pip install loopfind``; what the app adds is
    in the ``app`` extra; what tests and scripts add is in ``test`` (pyproject.toml)."""
    allowed = provided(*extras)
    providers = importlib.metadata.packages_distributions()
    missing = {module: sorted(files)[:3] for module, files in
               third_party_imports(*(REPO / s for s in sources)).items()
               if not {normalized(d) for d in providers.get(module, [])} & allowed}
    assert missing == {}, f"declare these in pyproject.toml, {where}: {missing}"


def test_every_package_is_listed_for_the_wheel():
    """pyproject.toml names the wheel's packages one by one (the top-level folders map into
    them); a package added to the source without a line there would be left out."""
    in_source = {".".join(p.parent.relative_to(REPO).parts)
                 for name in PACKAGES for p in (REPO / name).rglob("__init__.py")}
    settings = PYPROJECT["tool"]["setuptools"]
    mapped = set(settings["package-dir"])
    assert set(settings["packages"]) == in_source | mapped, "update [tool.setuptools] packages"


def test_requirements_txt_only_points_at_pyproject():
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text()
             .splitlines()]
    assert [line for line in lines if line] == ["-e .[app,test]"], (
        "declare dependencies in pyproject.toml; requirements.txt only points there")


def test_the_license_is_declared_and_shipped():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Loopfind contributors" in text


def test_help_names_the_command_as_it_was_run():
    result = subprocess.run([sys.executable, "-m", "loopfind_core", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m loopfind_core")


def test_the_app_is_found_in_the_checkout():
    from loopfind_core.cli import app_script

    assert app_script() == REPO / "app.py"


# ----- the wheel, installed ------------------------------------------------------------------


def expected_wheel_files() -> set[str]:
    """Every file of both packages, and the top-level files mapped into them."""
    files = set()
    for source in (*PACKAGES, *MAPPED):
        path = REPO / source
        for f in [path] if path.is_file() else path.rglob("*"):
            relative = f.relative_to(REPO).as_posix()
            if (f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
                    and not relative.startswith("checkpoints/exp/")):
                for old, new in MAPPED.items():
                    if relative == old or relative.startswith(old + "/"):
                        relative = new + relative[len(old):]
                files.add(relative)
    return files


def build_wheel(into: Path) -> Path:
    """``pip wheel`` on a copy of the build's inputs (so the checkout gets no build/ folder)."""
    source = into / "source"
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORED)
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
         str(source), "-w", str(into / "dist")], into, dict(os.environ))
    return next((into / "dist").glob("loopfind-*.whl"))


def run(command: list, cwd: Path, env: dict, stdin: str = "", timeout: float = 600):
    result = subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def answer_of(path: str | Path, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(path, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def serving(command: list, cwd: Path, env: dict):
    """``loopfind app`` on a free port until its health check answers; stopped after."""
    port = free_port()
    log = cwd / "app.log"
    with open(log, "w") as output:
        server = subprocess.Popen([*command, "--server.port", str(port), "--server.address",
                                   "127.0.0.1"], cwd=cwd, env=env, stdout=output,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
        while True:
            assert server.poll() is None, f"the app stopped:\n{log.read_text()[-3000:]}"
            with contextlib.suppress(OSError):
                if answer_of(f"{url}/_stcore/health", 2) == (200, b"ok"):
                    break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def first_sample(corpus: Path) -> tuple[str, float, float]:
    """(file, start, duration) of the first annotated sample of a generated corpus."""
    for line in (corpus / "annotations.csv").read_text().splitlines()[1:]:
        file, _, category, _, start, end = line.split(",")
        if category == "sample":
            return file, float(start), round(float(end) - float(start), 3)
    raise AssertionError("no sample annotated")


INSTALLED_APP_TEST = """
import pathlib, loopfind_app
from streamlit.testing.v1 import AppTest
app = AppTest.from_file(str(pathlib.Path(loopfind_app.__file__).parent / "site" / "app.py"),
                        default_timeout=300)
app.run()
assert not app.exception and not app.error, (app.exception, app.error)
print("app ok")
"""


@pytest.mark.slow  # builds the wheel and installs it with torch into a fresh venv (~1-2 min)
def test_the_wheel_installs_and_every_command_runs_from_any_folder(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert {n for n in names if ".dist-info/" not in n} == expected_wheel_files()
    metadata = metadata.decode()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    requires = {normalized(line.split(":", 1)[1].strip()) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")}
    assert requires == declared("app", "gpu", "test")

    with tempfile.TemporaryDirectory(prefix="loopfind-venv-") as venv:  # ~2 GB: never kept
        venv = Path(venv)
        run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ))
        started = time.monotonic()
        run([venv / "bin" / "python", "-m", "pip", "install", "-q",
             "--disable-pip-version-check", f"{wheel}[app]"], tmp_path, dict(os.environ),
            timeout=1200)
        print(f"fresh venv: installed in {time.monotonic() - started:.0f} s")
        work = tmp_path / "elsewhere"  # outside the checkout, no PYTHONPATH
        work.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env |= {"LOOPFIND_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "2"}
        loopfind = str(venv / "bin" / "loopfind")

        located = run([venv / "bin" / "python", "-c", "import loopfind_core, json; from "
                       "loopfind_core.features.encoder import DEFAULT_CHECKPOINT as d; "
                       "print(json.dumps([loopfind_core.__file__, str(d), d.is_file()]))"],
                      work, env)
        package_file, checkpoint, exists = json.loads(located)
        assert str(venv) in package_file and str(venv) in checkpoint and exists
        assert run([loopfind, "--help"], work, env).startswith("usage: loopfind ")
        run([loopfind, "synth", "--out", "corpus", "--tracks", "1", "--seed", "3"], work, env)
        track, start, duration = first_sample(work / "corpus")
        hunted = run([loopfind, "hunt", f"corpus/{track}", "--start", str(start), "--duration",
                      str(duration), "--features", "learned", "--answers-from", "corpus",
                      "--out", "a.mid", "a.json"], work, env)
        assert "wrote a.mid" in hunted and (work / "a.mid").read_bytes().startswith(b"MThd")
        assert json.loads((work / "a.json").read_text())
        indexed = run([loopfind, "index", "corpus", "--out", "library"], work, env)
        assert "1 added" in indexed, indexed
        across = run([loopfind, "hunt", f"corpus/{track}", "--index", "library", "--start",
                      str(start), "--duration", str(duration)], work, env, stdin="d\n" * 5)
        assert "hunting" in across

        # The installed app runs, its pages (st.navigation paths) resolving inside the wheel
        rendered = run([venv / "bin" / "python", "-c", INSTALLED_APP_TEST], work, env)
        assert rendered.strip().endswith("app ok")

        # A folder's own .streamlit/config.toml cannot weaken the app's settings: Streamlit
        # applies the installed app's config (beside its entry script) over it.
        (work / ".streamlit").mkdir()
        (work / ".streamlit" / "config.toml").write_text(
            "[server]\nenableXsrfProtection = false\nmaxUploadSize = 5000\n")
        with serving([loopfind, "app"], work, env) as url:
            request = urllib.request.Request(
                f"{url}/_stcore/upload_file/some-session/some-file", method="PUT",
                data=b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\""
                     b"\r\n\r\nRIFF\r\n--x--\r\n",
                headers={"Content-Type": "multipart/form-data; boundary=x"})
            status, body = answer_of(request)
            assert status == 403 and b"XSRF" in body, (status, body[:200])
            page_status, page = answer_of(url)
            assert page_status == 200 and b"<html" in page.lower()


@pytest.mark.slow  # about a minute: the gpu tests on the CPU, a short bench, two gloo ranks
def test_the_gpu_check_dry_run_passes(tmp_path):
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_check.sh"), "--dry-run", "--out", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PY": sys.executable, "OMP_NUM_THREADS": "2",
             "LOOPFIND_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "DRY RUN" in result.stdout and "gpu_check: passed" in result.stdout
    assert re.search(r"\d+ passed", result.stdout)  # the gpu tests ran, the CPU standing in
    assert (tmp_path / "bench-cpu.json").is_file() and (tmp_path / "ddp.pt").is_file()
