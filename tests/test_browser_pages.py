"""One browser pass over every page (the fast tier's, `make test-fast`): each page of the built site,
light and dark (the 256-px site light only), desktop and phone, loads without a console error, a CSP
violation or a request that leaves localhost, no phone page is wider than the screen, and each
page's initial transfer stays within PAGE_BUDGET. The transfer sizes are saved under pytest's
temporary folder (screenshots of every page on every screen are benchmarks/screenshots.py's: here
they took a third of the pass)."""

from __future__ import annotations

import json

import pytest
from site_support import CHROMIUM
from test_browser import PAGE_BUDGET, PAGES, Watch, mounted, open_page, sites  # noqa: F401  (sites: the fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")


def test_pages_load_clean_and_record_transfer_size(browser, tmp_path_factory, sites, request):
    _, base_url = sites
    artifacts = tmp_path_factory.mktemp("artifacts")
    sizes = {}
    # The dark scheme changes colours, not frame sizes or sheets: the 256-px site is passed in the
    # light one only (its transfer on the desktop, its width on the phone).
    schemes = ("light", "dark") if request.node.callspec.params["sites"] == "32px" else ("light",)
    for scheme in schemes:
        for width, height, device in ((1280, 900, "desktop"), (375, 812, "phone")):
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
            page = context.new_page()
            watch = Watch(page, count_bytes=scheme == "light" and device == "desktop")
            for name, path in PAGES.items():
                watch.bytes = 0
                open_page(page, base_url, path)
                if scheme == "light" and device == "desktop":  # the transfer, once the network is quiet
                    page.wait_for_load_state("networkidle")  # (at least 500 ms a page: not on the other passes)
                    sizes[name] = watch.bytes
                if device == "phone":
                    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows 375 px"
                figure = page.locator(".nti-figure").first
                if figure.count():  # the first figure mounts (its script, its data) in this scheme
                    mounted(figure)
            watch.assert_clean()
            context.close()
    for name, size in sizes.items():
        print(f"transfer size {name}: {size} bytes ({size / 1024:.1f} KiB)")
    (artifacts / "transfer-sizes.json").write_text(json.dumps(sizes, indent=1))
    print(f"transfer sizes in {artifacts}")
    assert all(0 < size <= PAGE_BUDGET for size in sizes.values()), sizes
