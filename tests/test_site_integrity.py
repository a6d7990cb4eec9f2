"""The site trusts nothing it is fed: damaged runs are refused with one exact message, every link and
frame a page references exists, pages are valid HTML (W3C Nu validator), and hostile strings from a
manifest never run as script in the browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from site_support import CHROMIUM, lesson_paths, serve, tab

from generate.cli import main

REPO = Path(__file__).resolve().parents[1]
VNU = REPO / ".cache" / "npm" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
HOSTILE = "</script><img src=x onerror=alert(1)>"


def _copy_run(build, tmp_path: Path) -> Path:
    source = next(build["runs"].glob("tiny-rgb*/reverse/*/"))
    target = tmp_path / "runs" / source.parent.parent.name / "reverse" / source.name
    shutil.copytree(source, target)
    return target


def _rewrite(run: Path, change) -> None:
    """Edit a manifest and re-seal its frame list digest, as a careful forger would."""
    from generate.manifest import frames_digest

    manifest = json.loads((run / "manifest.json").read_text())
    change(manifest)
    manifest["frames_sha256"] = frames_digest(manifest["frames"])
    (run / "manifest.json").write_text(json.dumps(manifest))


def _truncate_png(run):
    path = run / "frames/s0/x/0001.png"
    path.write_bytes(path.read_bytes()[:40])


def _escape_path(run):
    _rewrite(run, lambda m: m["frames"][0].update(file="../../../../etc/hostname"))


def _absolute_path(run):
    _rewrite(run, lambda m: m["frames"][0].update(file="/etc/hostname"))


def _symlink_out(run):
    target = run / "frames/s0/x/0000.png"
    target.unlink()
    target.symlink_to("/etc/hostname")


def _folder_symlink_out(run):
    """A frame folder (not a frame) that is a symlink out of the run: the folder's real path decides."""
    outside = run.parents[3] / "outside-folder"
    shutil.copytree(run / "frames/s0/x", outside)
    shutil.rmtree(run / "frames/s0/x")
    (run / "frames/s0/x").symlink_to(outside)


def _slug_escape(run):
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["model"]["slug"] = "../../outside"
    (run / "manifest.json").write_text(json.dumps(manifest))


DAMAGES = {
    "truncated-png": (
        _truncate_png,
        "{run}/manifest.json: 1 frame(s) do not match the manifest, first: "
        "{run}/frames/s0/x/0001.png: content does not match the manifest's sha256; rerun the "
        "precompute (`python -m generate verify` lists all)",
    ),
    "newer-schema": (
        lambda run: _rewrite(run, lambda m: m.update(schema=2)),
        "{run}/manifest.json: schema 2 is not supported; this version reads schema 1 (a newer schema "
        "needs a newer version of this tool)",
    ),
    "missing-frame": (
        lambda run: (run / "frames/s0/eps/0002.png").unlink(),
        "{run}/manifest.json: frame frames/s0/eps/0002.png is listed but missing",
    ),
    "frame-bytes-changed": (
        lambda run: (run / "frames/s0/x0/0000.png").write_bytes((run / "frames/s0/x0/0001.png").read_bytes()),
        "{run}/manifest.json: 1 frame(s) do not match the manifest, first: {run}/frames/s0/x0/0000.png: content "
        "does not match the manifest's sha256; rerun the precompute (`python -m generate verify` lists all)",
    ),
    "frame-list-edited": (
        lambda run: (run / "manifest.json").write_text(
            (run / "manifest.json").read_text().replace("frames/s0/x/0001.png", "frames/s0/x/0002.png", 1)
        ),
        "{run}/manifest.json: frames_sha256 does not match the frame list; the manifest was edited or damaged; "
        "rerun the precompute",
    ),
    "path-escapes-run": (
        _escape_path,
        "{run}/manifest.json: frame path '../../../../etc/hostname' must be a relative path inside the run folder",
    ),
    "absolute-path": (
        _absolute_path,
        "{run}/manifest.json: frame path '/etc/hostname' must be a relative path inside the run folder",
    ),
    "symlink-out": (
        _symlink_out,
        "{run}/manifest.json: frame path 'frames/s0/x/0000.png' resolves outside the run folder (symlink?)",
    ),
    "folder-symlink-out": (
        _folder_symlink_out,
        "{run}/manifest.json: frame path 'frames/s0/x/0000.png' resolves outside the run folder (symlink?)",
    ),
    "slug-escapes-site": (
        _slug_escape,
        "{run}/manifest.json: model.slug '../../outside' must be letters, digits, "
        "'.', '_' or '-' (it names a folder of the site)",
    ),
    "not-json": (
        lambda run: (run / "manifest.json").write_text("{"),
        "{run}/manifest.json: not valid JSON (Expecting property name enclosed in double quotes: line 1 "
        "column 2 (char 1))",
    ),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_a_damaged_run_stops_the_site_build_with_one_exact_message(name, build, tmp_path, capsys):
    run = _copy_run(build, tmp_path)
    damage, expected = DAMAGES[name]
    damage(run)
    out = tmp_path / "out"
    code = main(["site", "--runs", str(tmp_path / "runs"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err == "error: " + expected.format(run=run) + "\n"
    assert not out.exists() and not (tmp_path / "outside").exists()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.urls.append((tag, value))


def _target(site: Path, page: Path, tag: str, url: str, root: str = "/") -> Path | None:
    """The file a page's link or source points to; `root` is the path the site is served at (its
    site_url's: the 404 page links absolutely, as it is served at any depth)."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https") and parsed.hostname not in ("127.0.0.1", "localhost"):
        if tag == "a":
            return None  # a link the reader may follow; not a request the page makes
        raise AssertionError(f"{page}: <{tag}> loads {url} from another site")
    if parsed.scheme in ("data", "mailto", "javascript") or (not parsed.path and parsed.fragment):
        return None
    if parsed.path.startswith("/"):
        assert parsed.path.startswith(root), f"{page}: {url} lies outside the site's address {root}"
        path = (site / unquote(parsed.path.removeprefix(root))).resolve()
    else:
        path = (page.parent / unquote(parsed.path)).resolve()
    return path / "index.html" if path.is_dir() or parsed.path.endswith("/") else path


def test_every_link_image_and_frame_a_page_references_exists(build):
    site = build["site"]
    checked = 0
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, url in parser.urls:
            target = _target(site, page, tag, url, root=urlparse(build["url"]).path)
            if target is not None:
                assert target.is_file(), f"{page.relative_to(site)} links to missing {url}"
                checked += 1
    for data in sorted((site / "generated").glob("*.json")):
        text = data.read_text()
        for url in re.findall(r'"url": ?"([^"]+)"', text):
            assert (data.parent / url).resolve().is_file(), f"{data.name} names missing sheet {url}"
            checked += 1
    assert checked > 50


@pytest.mark.skipif(not VNU.is_file() or not shutil.which("java"), reason="needs Java and npm vnu-jar (make test)")
def test_every_page_passes_the_w3c_nu_validator(build):
    pages = [str(p) for p in sorted(build["site"].rglob("*.html"))]
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "text", *pages], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
def test_hostile_strings_from_a_manifest_never_run_as_script(build, browser, tmp_path):
    shutil.copytree(build["runs"], tmp_path / "runs")
    for path in (tmp_path / "runs").glob("*/*/*/manifest.json"):
        manifest = json.loads(path.read_text())
        manifest["model"]["label"] = HOSTILE  # outside frames_sha256: the manifest stays valid
        manifest["model"]["id"] = HOSTILE
        path.write_text(json.dumps(manifest))
    assert main(["site", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "site")]) == 0
    dialogs, shown = [], 0
    with serve(tmp_path / "site") as url:
        with tab(browser) as page:
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            for name in lesson_paths():
                page.goto(f"{url}{name}")
                page.wait_for_timeout(700)
                assert page.locator('img[src="x"]').count() == 0
                shown += page.get_by_text(HOSTILE).count()
    assert dialogs == []
    assert shown > 0  # the label is on the page, as text


def test_csp_allows_only_the_sites_own_origin(build):
    html = (build["site"] / "reverse" / "index.html").read_text()
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    sources = " ".join(part for part in policy.split(";") if not part.strip().startswith("img-src"))
    assert "'unsafe-inline'" not in policy and "http" not in sources and "*" not in policy
    assert re.search(r"default-src 'self'", policy)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    hashes = re.findall(r"'sha256-([^']+)'", policy)
    assert hashes and all(len(h) == 44 for h in hashes)
