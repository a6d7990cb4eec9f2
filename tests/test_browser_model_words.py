"""The words follow the model menu: on every lesson (the registry's pages), switching the model of a
figure swaps the step text's numbers for that model's, on the default site of both shipped models;
a lesson the default config runs on one model (guidance) has no menu and speaks of that model only."""

from __future__ import annotations

import pytest
from site_support import CHROMIUM, default_site, served, tab, wait_until
from test_browser import READY, Watch

from generate import experiments
from generate.precompute.config import load_config

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

LESSONS = sorted({page.file for page in experiments.pages()})
DEFAULT = load_config("default")


def _models_of(lesson: str) -> int:
    """How many models the default config runs the lesson's experiments on (guidance: its one
    class-conditional model, so no menu to switch)."""
    return max(
        len(DEFAULT.models_for(e.name)) for e in experiments.all_experiments() if e.page and e.page.file == lesson
    )


VISIBLE_WORDS = """section => Array.from(section.querySelectorAll('.nti-per-model'))
    .filter(el => !el.hidden).map(el => [el.dataset.model, el.innerText.trim()])"""


@pytest.fixture(scope="module")
def shipped():
    build = default_site()
    return served(build)


@pytest.mark.parametrize("lesson", LESSONS)
def test_switching_the_model_switches_the_step_text(browser, shipped, lesson):
    with tab(browser, viewport={"width": 1280, "height": 900}) as page:
        watch = Watch(page)
        page.goto(shipped + lesson.removesuffix(".md") + "/")
        page.wait_for_function(READY, timeout=20000)
        sections = page.locator(".nti-scrolly")
        assert sections.count() >= 1
        switched = 0
        for index in range(sections.count()):
            section = sections.nth(index)
            figure = section.locator(".nti-figure")
            figure.scroll_into_view_if_needed()
            wait_until(figure, "f => f.dataset.ready === 'true'", timeout=20000)
            before = section.evaluate(VISIBLE_WORDS)
            models = figure.evaluate("f => Array.from(f.querySelectorAll('.nti-figure-head select option')).length")
            if not before:
                continue
            assert {slug for slug, _ in before} == {figure.get_attribute("data-model")}  # only the model on show speaks
            if models < 2:
                continue
            first = figure.get_attribute("data-model")
            figure.locator(".nti-figure-head select").first.select_option(index=1)
            wait_until(figure, f"f => f.dataset.model !== {first!r} && f.dataset.ready === 'true'", timeout=20000)
            after = section.evaluate(VISIBLE_WORDS)
            assert {slug for slug, _ in after} == {figure.get_attribute("data-model")}
            assert [text for _, text in after] != [text for _, text in before], lesson  # the numbers changed with it
            switched += 1
        if _models_of(lesson) > 1:
            assert switched, f"{lesson}: no step text follows the model menu"
        else:  # one model: no menu, and the words on show are that model's (checked above)
            assert switched == 0 and figure.locator(".nti-figure-head select").count() == 0
        watch.assert_clean()
