"""Predict, then see, in Chromium on the default site: on every lesson that asks the reader to guess
first (the pages that carry a `.nti-predict` question), the answer stays hidden until the reader
commits a guess (keyboard only: arrows, then Enter) or skips; then the gap and the measured answer
show, and the question folds away until the reader asks for it again. The guess stays in the page (no request), and the other model's question waits unanswered."""

from __future__ import annotations

import json
import re

import pytest
from site_support import CHROMIUM, SVG_TEXT_PX, default_site, page_of, served, tab, wait_until
from test_browser import READY, Watch

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]


@pytest.fixture(scope="module")
def shipped():
    return default_site()


def _asking(site) -> list[str]:
    """The pages with a guess-first question, read from the built site (no list kept here)."""
    return sorted(
        p.parent.relative_to(site).as_posix() + "/"
        for p in site.glob("*/index.html")
        if 'class="nti-predict"' in p.read_text(encoding="utf-8")
    )


def test_three_lessons_ask_first(shipped):
    assert len(_asking(shipped["site"])) >= 3


@pytest.mark.parametrize("screen", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_guess_then_see_on_every_lesson_that_asks(browser, shipped, screen):
    base = served(shipped)
    with tab(browser, viewport={"width": screen[0], "height": screen[1]}) as page:
        watch = Watch(page)
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        for path in _asking(shipped["site"]):
            page.goto(base + path)
            page.wait_for_function(READY, timeout=20000)
            box = page.locator(".nti-predict:visible").first
            box.scroll_into_view_if_needed()
            wait_until(box, "b => b.dataset.ready === 'true'")
            reveal, result = box.locator(".nti-predict-reveal"), box.locator(".nti-predict-result")
            assert reveal.is_hidden(), f"{path}: the answer shows before the guess"
            values, answer = json.loads(box.get_attribute("data-values")), json.loads(box.get_attribute("data-answer"))
            start = values[int(box.locator("input[type=range]").input_value())]
            assert abs(start - answer) > 1e-9, f"{path}: the guess starts at the answer"
            figure = box.locator("xpath=ancestor::div[contains(@class,'nti-scrolly')]").locator(".nti-figure")
            step = box.locator("xpath=ancestor::div[contains(@class,'nti-step')][1]")
            after = box.get_attribute("data-after")
            model = box.locator("xpath=ancestor::div[contains(@class,'nti-per-model')]").get_attribute("data-model")
            requests.clear()  # from here on: what the guess itself requests
            if screen[0] > 500:  # laptop: the keyboard alone, Home then two steps right, Enter commits
                slider = box.locator("input[type=range]")
                slider.focus()
                page.keyboard.press("Home")
                page.keyboard.press("ArrowRight")
                page.keyboard.press("ArrowRight")
                page.keyboard.press("Enter")
                guess = values[2]
                assert (
                    box.get_attribute("data-state") == "guessed"
                    and json.loads(box.get_attribute("data-guess")) == guess
                )
                said = re.sub(r"\s+", " ", result.inner_text())
                assert said.startswith("Your guess:") and "Measured:" in said, said
                assert ("spot on" in said) == (abs(guess - answer) < 1e-9), said
            else:  # phone: skip straight to the answer
                box.get_by_role("button", name="Skip: show the answer").click()
                assert box.get_attribute("data-state") == "skipped" and result.inner_text().startswith("Measured:")
            # answered, the form goes (the result repeats the guess, if any: a skipped question shows
            # none) and the question folds away; a press unfolds it
            assert reveal.is_visible() and not box.locator(".nti-predict-form, input[type=range]").count()
            # a chart in the answer (outside any figure, so not the matrix's) has text of 11 CSS px or more
            sizes = reveal.evaluate(SVG_TEXT_PX)
            assert all(size >= 11 - 0.05 for size, _ in sizes), (path, screen, [s for s in sizes if s[0] < 11 - 0.05])
            question, again = box.locator(".nti-predict-question"), box.locator(".nti-predict-again")
            assert question.is_hidden() and again.get_attribute("aria-expanded") == "false"
            again.click()
            assert question.is_visible() and again.get_attribute("aria-expanded") == "true" and reveal.is_visible()
            assert not box.locator("input[type=range]").count(), "the question unfolded brings back no guess"
            again.click()
            assert question.is_hidden() and reveal.is_visible()
            if after:  # the figure shows what answers the question only now: the step's state becomes `after`
                # (a question in one model's words: for that model only, see the test below)
                per_model = json.loads(step.get_attribute("data-after-models") or "{}")
                told = per_model.get(model) if model else json.loads(step.get_attribute("data-state"))
                assert told == json.loads(after), (path, told, after)
                if screen[0] > 500 and "view" in json.loads(after):
                    view = json.loads(after)["view"]
                    wait_until(
                        figure,
                        f"f => f.querySelectorAll('.nti-views button')[{view}]?.getAttribute('aria-pressed') === 'true'",
                    )
            assert not box.locator(".nti-predict-commit").count()
            assert not [u for u in requests if "predict" in u or "guess" in u], requests  # nothing sent
            # the other model's question waits, unanswered
            if figure.locator(".nti-figure-head select").count():
                figure.locator(".nti-figure-head select").first.select_option(index=1)
                wait_until(figure, f"f => f.dataset.model !== {model!r} && f.dataset.ready === 'true'", timeout=20000)
                other = page.locator(".nti-predict:visible").first
                assert other.get_attribute("data-state") is None and other.locator(".nti-predict-reveal").is_hidden()
        watch.assert_clean()


def _make_active(step) -> None:
    """Scroll the step's top just past the line (the middle of the screen where the figure is beside
    the text, or unpinned): the active step."""
    step.evaluate("s => window.scrollBy(0, s.getBoundingClientRect().top - innerHeight / 2 + 8)")
    wait_until(step, "s => s.classList.contains('nti-step-active')")


def _own_level(step, slider) -> int:
    """The start level (1 = noisiest) of a forward/backward step's own state, as the level slider words
    it: the state's fraction of the slider's range, plus one."""
    return 1 + round(json.loads(step.get_attribute("data-state"))["level"] * int(slider.get_attribute("aria-valuemax")))


def _switch_model(figure, index: int) -> None:
    slug = figure.get_attribute("data-model")
    figure.locator(".nti-figure-head select").first.select_option(index=index)
    wait_until(figure, f"f => f.dataset.model !== {slug!r} && f.dataset.ready === 'true'", timeout=20000)


def test_an_answer_moves_its_own_models_figure_only(browser, shipped):
    """Forward/backward asks each model's reader for the level of the first different picture; the
    answer moves that model's figure to that level, fully denoised. The question is in one model's
    words, so another model's figure keeps the step's own state until its own question is answered,
    and each model's figure shows its own answer when the menu comes back to it."""
    with tab(browser, viewport={"width": 1366, "height": 768}) as page:
        watch = Watch(page)
        page.goto(served(shipped) + page_of("forward_backward"))
        page.wait_for_function(READY, timeout=20000)
        figure = page.locator('.nti-figure[data-kind="forward_backward"]')
        level, steps = figure.locator("[role=slider]").nth(0), figure.locator("[role=slider]").nth(1)
        menu = figure.locator(".nti-figure-head select").first
        assert menu.locator("option").count() >= 2, "the default site shows two models"

        def shows(want: int) -> None:  # the level on show (1 = noisiest), read off the slider's words
            page.wait_for_function(
                "([s, want]) => s.getAttribute('aria-valuetext').startsWith(`level ${want} of`)",
                arg=[level.element_handle(), want],
                timeout=10000,
            )

        box = page.locator(".nti-predict:visible").first
        step = box.locator("xpath=ancestor::div[contains(@class,'nti-step')][1]")
        _make_active(step)
        own = _own_level(step, level)
        shows(own)
        answers = {}
        for index in (0, 1):
            if index:
                _switch_model(figure, index)
                shows(own)  # not the other model's answer: this model's question is still open
            box = page.locator(".nti-predict:visible").first
            wait_until(box, "b => b.dataset.ready === 'true'")
            assert box.get_attribute("data-state") is None
            answers[figure.get_attribute("data-model")] = answer = json.loads(box.get_attribute("data-answer"))
            assert answer != own, "an answer at the step's own level would show nothing here"
            box.get_by_role("button", name="Skip: show the answer").click()
            shows(answer)
            assert steps.get_attribute("aria-valuenow") == steps.get_attribute("aria-valuemax"), "fully denoised"
        _switch_model(figure, 0)  # back to the first model: its own answer, not the second's
        assert figure.get_attribute("data-model") == next(iter(answers))
        shows(answers[next(iter(answers))])
        watch.assert_clean()
