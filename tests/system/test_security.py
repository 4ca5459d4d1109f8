"""Security settings, one test each, where tests elsewhere do not already check them.

Already checked elsewhere (not repeated here):
- XSRF on, upload limit ≤ 200 MB, no error details, no raw HTML in pages (the config and the
  page sources): tests/app_tests/test_pages.py::test_server_settings_keep_users_safe;
- user text escaped: tests/app_tests/test_pages.py::
  test_an_upload_replaces_the_demo_and_a_bad_one_keeps_the_track (file names) and
  ::test_user_typed_sound_names_are_escaped_wherever_shown;
- a checkpoint whose unpickling would run code is refused and never runs:
  tests/features/test_encoder.py::test_a_pickle_that_would_run_code_is_refused_and_never_runs
  and the two payload cases of tests/system/test_bad_input.py::test_checkpoints;
- tracks over 20 minutes refused: tests/base/test_audio.py::test_too_long_is_refused and the
  40-minute case of tests/system/test_bad_input.py; files over 1 GiB:
  tests/system/test_bad_input.py::test_a_file_over_the_size_limit_is_refused_before_it_is_read.
"""

from __future__ import annotations

import ast
import urllib.error
import urllib.request

from loopfind_core.base.audio import MAX_DURATION_S, MAX_FILE_BYTES
from testkit.browser import REPO, running_app


def server_config() -> dict:
    import tomllib  # Python 3.11+

    return tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())

SOURCE_FOLDERS = ("loopfind_core", "loopfind_app", "pages", "scripts", "testkit")
SOURCES = sorted([*REPO.glob("*.py"),  # app.py and the like
                  *(p for folder in SOURCE_FOLDERS for p in (REPO / folder).rglob("*.py"))])


def test_the_server_upload_limit_fits_inside_the_core_limits():
    """Whatever the server accepts (maxUploadSize, MB) the core can still refuse by size
    (MAX_FILE_BYTES) and length (MAX_DURATION_S), and the two limits agree with the README's
    '≤ 200 MB, ≤ 20 min'."""
    upload_bytes = server_config()["server"]["maxUploadSize"] * 2**20
    assert upload_bytes == 200 * 2**20 <= MAX_FILE_BYTES
    assert MAX_DURATION_S == 20 * 60
    assert "≤ 200 MB, ≤ 20 min" in (REPO / "README.md").read_text()


def test_the_running_server_refuses_an_upload_without_the_xsrf_token():
    """enableXsrfProtection in effect: a cross-site upload (no _xsrf cookie and header) gets
    403 from the live server before any app code sees it."""
    assert server_config()["server"]["enableXsrfProtection"] is True
    with running_app() as url:
        request = urllib.request.Request(
            f"{url}/_stcore/upload_file/some-session/some-file", method="PUT",
            data=b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\""
                 b"\r\n\r\nRIFF\r\n--x--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x",
                     "Origin": "http://evil.invalid"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
    assert status == 403 and b"XSRF" in body, (status, body[:200])


def calls_to(tree: ast.AST, module: str, function: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == function
            and isinstance(node.func.value, ast.Name) and node.func.value.id == module]


def keyword(call: ast.Call, name: str):
    return next((ast.literal_eval(k.value) for k in call.keywords if k.arg == name), None)


def test_every_deserialisation_is_data_only():
    """Every torch.load passes weights_only=True, no np.load allows pickles, and nothing calls
    pickle.load(s) or runs eval/exec: a file can only ever be data. A load the scan could not
    see (``from torch import load``, ``import torch as t``) is refused too, and the scan does
    see the product's known loaders (the encoder's checkpoint, training's resumable state,
    the library's feature files)."""
    torch_loads: set[str] = set()
    numpy_loads: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        assert not hidden_loaders(tree), f"{path.name}: {hidden_loaders(tree)}"
        name = path.relative_to(REPO).as_posix()
        if calls_to(tree, "torch", "load"):
            torch_loads.add(name)
        if calls_to(tree, "np", "load"):
            numpy_loads.add(name)
        for call in calls_to(tree, "torch", "load"):
            assert keyword(call, "weights_only") is True, f"{path.name}:{call.lineno}"
        for call in calls_to(tree, "np", "load"):
            assert keyword(call, "allow_pickle") in (None, False), f"{path.name}:{call.lineno}"
        for name in ("load", "loads"):
            assert not calls_to(tree, "pickle", name), path.name
        builtins = {n.func.id for n in ast.walk(tree)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not builtins & {"eval", "exec"}, path.name
    assert {"loopfind_core/features/encoder.py", "loopfind_core/training/loop.py"} <= torch_loads
    assert "loopfind_core/library/feature_files.py" in numpy_loads


def hidden_loaders(tree: ast.AST) -> list[str]:
    """Imports that would hide a deserialisation from :func:`calls_to`: torch, numpy or
    pickle under another name, or their ``load`` imported by itself."""
    hidden = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hidden += [f"import {a.name} as {a.asname}" for a in node.names
                       if a.name in ("torch", "pickle") and a.asname
                       or a.name == "numpy" and a.asname not in (None, "np")]
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "numpy", "pickle"):
            hidden += [f"from {node.module} import {a.name}" for a in node.names
                       if a.name in ("load", "loads")]
    return hidden
