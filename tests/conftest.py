"""Shared fixtures: tiny random diffusion models built in code (no downloads), the session's small
built site, its static server and the browser (one each per session), and the check that the
session leaves the sources as it found them. Helpers live in site_support.py.

Under pytest-xdist (`make test` runs `-n auto`) the controlling process makes the session's shared
folder and runs the one web server of every built site; each test process is told both
(pytest_configure_node) and uses a fair share of the cores for torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
from site_support import REPO, SHARED, built_site, chromium, default_runs, make_tiny_model, serve, served, tab

_SERVER: list = []  # the controlling process's open serve() context


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # a test process of pytest-xdist: the controller made both
        SHARED.update(root=config.workerinput["nti_root"], url=config.workerinput["nti_url"])
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # and the processes the tests start
        return
    root = Path(tempfile.mkdtemp(prefix="nti-tests-"))
    (root / "www").mkdir()
    context = serve(root / "www")
    SHARED.update(root=str(root), url=context.__enter__())
    _SERVER.append(context)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput.update(nti_root=SHARED["root"], nti_url=SHARED["url"])


def pytest_unconfigure(config):
    if _SERVER:
        _SERVER.pop().__exit__(None, None, None)
        shutil.rmtree(SHARED["root"], ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (site_support.failed: a fixture's teardown asks whether
    the test failed)."""
    report = yield
    setattr(item, f"nti_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def tiny_rgb(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-rgb"), channels=3)


@pytest.fixture(scope="session")
def tiny_grey_v(tmp_path_factory) -> Path:
    return make_tiny_model(
        tmp_path_factory.mktemp("tiny-grey-v"),
        channels=1,
        prediction_type="v_prediction",
        beta_schedule="squaredcos_cap_v2",
        layout="pipeline",
    )


@pytest.fixture(scope="session")
def build():
    """Runs of two tiny models on the smoke grids and the site built from them (site_support.built_site)."""
    return built_site()


@pytest.fixture(scope="session")
def base_url(build):
    """The built site served on the port its site_url names (instant navigation matches links by it)."""
    return served(build)


@pytest.fixture(scope="session")
def chosen():
    """(model slug, experiment) -> the newest run of the default runs (site_support.default_runs): what
    the lessons' claims are checked against. Once per session, shared by every claims module."""
    from generate.precompute.config import load_config
    from generate.site.runs import latest_runs

    runs = latest_runs(default_runs())
    models = load_config("default").models
    assert {slug for slug, _ in runs} >= set(models), "the default runs must cover every default model"
    return runs


@pytest.fixture(scope="session")
def facts(chosen):
    """Every lesson's facts computed from the default runs (generate.site.claims), once per session:
    computing them took about 17 s, and each claims module computed them again."""
    from generate.site import claims

    return claims.for_models(chosen)


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A 1280x900 page lent to the test (site_support.tab); modules that watch it more closely have their own."""
    with tab(browser, viewport={"width": 1280, "height": 900}) as page:
        yield page


def _git_status() -> list[str] | None:
    """`git status --porcelain` of the repository (untracked files listed one by one), or None outside git."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.splitlines() if done.returncode == 0 else None


@pytest.fixture(scope="session", autouse=True)
def the_tests_leave_the_sources_clean():
    """Tests and builds never write into the sources: whatever `git status` shows after the session
    that it did not show before was written by a test (or a build it ran), and fails the run."""
    before = _git_status()
    yield
    after = _git_status()
    if before is not None and after is not None:
        written = sorted(set(after) - set(before))
        assert not written, f"the test session wrote into the repository: {written}"
