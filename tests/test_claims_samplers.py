"""The samplers page's words against the default runs, on every shipped model (issue 23): each
comparison names exactly the two numbers it compares, each budget states its own distances, Heun's
failure is a step of its own worded from the data, Euler is told apart from DDIM, the ODE is named
right, and "two unrelated samples" is the site's one typical distance.

Needs the default runs: NTI_DEFAULT_RUNS=/work/main/runs reuses a finished runs folder.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from PIL import Image
from site_support import frame_file
from test_claims import MODELS, _figures, _render

from generate import experiments
from generate.experiments.similar_noise.distance import typical_distance

pytestmark = pytest.mark.slow  # left out of `make test-fast`


TEMPLATE = "samplers.md.j2"
NAME = {"ddim": "DDIM", "dpmpp_2m": "DPM-Solver++", "euler": "Euler", "heun": "Heun", "ddpm": "DDPM"}


def _dist(value: float) -> str:
    """A distance as the page prints it wherever it appears: two decimals below 1, one from 1 up (the
    samplers page once said 0.55 in one step and 0.5 for the same distance in the next)."""
    return f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"


def _both(chosen) -> dict:
    """Figures of every shipped model, labelled as the site labels them (a short name, then a description
    in brackets), so that a page that prints a full label is caught."""
    figures = {name: [] for name in experiments.names()}
    for slug in MODELS:
        for name, models in _figures(chosen, slug).items():
            figures[name] += [dict(m, label=f"{slug} (a long description)") for m in models]
    return figures


def _text(fragment: str) -> str:
    """What a reader reads: tags dropped, entities decoded, white space folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def _steps(page: str) -> list[str]:
    """The scrolly steps' raw text, in order (the fold-out and the tables after them are not steps)."""
    body = page.split('<div class="nti-steps"', 1)[1].split("The maths", 1)[0]
    return body.split('<div class="nti-step"')[1:]


def _words(step: str, slug: str) -> str:
    """A step's words for one model: its shared text and that model's per_model block (the other
    models' blocks, which the page hides, dropped)."""
    others = rf'<div class="nti-per-model" data-model="(?!{re.escape(slug)}")[^"]+"[^>]*>.*?</div>'
    return _text(re.sub(others, " ", step, flags=re.S))


def _step(page: str, title: str, slug: str) -> str:
    found = [_words(s, slug) for s in _steps(page) if f"**{title}" in s]
    assert len(found) == 1, f"one scrolly step titled {title!r}"
    return found[0]


def _pictures(run, file: str) -> np.ndarray:
    with Image.open(run.folder / file) as image:
        return np.asarray(image, dtype=np.float64) / 127.5


def _distances(run, kind: str, budget: int) -> list[float]:
    """Each seed's final against its converged image, recomputed from the PNGs."""
    axes = run.manifest["axes"]
    n = axes["steps"][kind][str(budget)]
    return [
        float(
            np.linalg.norm(
                _pictures(run, frame_file(run.manifest, "x", sampler=kind, calls=budget, seed=s, step=n))
                - _pictures(run, frame_file(run.manifest, "ref", seed=s))
            )
        )
        for s in axes["seeds"]
    ]


def _mean(run, kind: str, budget: int) -> float:
    return float(np.mean(_distances(run, kind, budget)))


@pytest.fixture(scope="module")
def page(chosen, facts):
    return _render(TEMPLATE, facts, _both(chosen))


# -- 1. a comparison compares the two numbers it names; each budget its own distances --------------


@pytest.mark.parametrize("slug", MODELS)
def test_the_second_order_comparison_compares_the_two_numbers_it_names(chosen, page, slug):
    """ "With b calls it even lands closer than DDIM with c: x against y": x and y are DPM-Solver++'s
    and DDIM's mean distances at those budgets, recomputed from the frames, and x < y. The old
    "as close as DDIM is with 20" (5.7 against 2.9 on fashion) is gone."""
    run = chosen[(slug, "samplers")]
    words = _step(page, "A few calls.", slug)
    assert "as close as DDIM is with" not in page
    found = re.findall(
        r"With (\d+) calls it even lands closer than DDIM with (\d+): ([\d.]+) against ([\d.]+)\.", words
    )
    for b, c, x, y in found:
        dpm, ddim = _mean(run, "dpmpp_2m", int(b)), _mean(run, "ddim", int(c))
        # as printed everywhere (_dist), or with two decimals where that would print them equal
        shown = (_dist(dpm), _dist(ddim)) if _dist(dpm) != _dist(ddim) else (f"{dpm:.2f}", f"{ddim:.2f}")
        assert (x, y) == shown, (slug, b, c, dpm, ddim)
        assert dpm < ddim and int(c) > int(b), (slug, b, dpm, c, ddim)
    # the sentence is there exactly when such a pair exists in the data
    budgets = run.manifest["axes"]["calls"]
    exists = any(c > b and _mean(run, "dpmpp_2m", b) < _mean(run, "ddim", c) for b in budgets for c in budgets)
    assert len(found) == (1 if exists else 0), (slug, found)


@pytest.mark.parametrize("slug", MODELS)
def test_each_budget_states_its_own_distances(chosen, facts, page, slug):
    """The few-calls step gives DPM-Solver++'s and DDIM's own distances at its budget, the many-calls
    step every ODE sampler's at the largest budget; no "within X" bound stands for two budgets (the old
    page quoted one bound for 10 and for 100 calls, hiding a tenfold improvement)."""
    run, f = chosen[(slug, "samplers")], facts[slug]["samplers"]
    few, many = f["budgets"][1], f["budgets"][-1]
    words = _step(page, "A few calls.", slug)
    assert (
        f"With {few} calls, DPM-Solver++ lands {_dist(_mean(run, 'dpmpp_2m', few))} from the converged image "
        f"and DDIM {_dist(_mean(run, 'ddim', few))}"
    ) in words, words
    words = _step(page, "More calls, one picture.", slug)
    ode = [k for k in run.manifest["axes"]["samplers"] if k != "ddpm"]
    numbers = re.search(rf"With {many} calls, (.+?) land (.+?) from the converged image", words)
    assert numbers, words
    assert re.split(r", | and ", numbers.group(2)) == [_dist(_mean(run, k, many)) for k in ode], numbers.group(0)
    # a sampler that spends other than the budget (Heun: 2n - 1 calls) says how many it spent
    spent = [len(run.manifest["axes"]["call_sigmas"][k][str(many)]) for k in ode]
    assert re.findall(r"\((\d+) calls\)", numbers.group(1)) == [str(n) for n in spent if n != many], numbers.group(0)
    # the distances at the two budgets really differ (else one bound would do): the point of stating both
    assert _mean(run, "ddim", many) < 0.5 * _mean(run, "ddim", few)
    for step in _steps(page):
        text = _words(step, slug)
        assert len(set(re.findall(r"within ([\d.]+)", text))) <= 1 and text.count("within") <= 1, text


# -- 2. Heun's failure, a step of its own, worded from the data -----------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_heuns_failure_is_a_step_with_its_broken_budgets_and_the_noise_levels(chosen, facts, page, slug):
    """A scrolly step (not the fold-out) names the budgets where Heun's finals are further from the
    converged image than two unrelated samples are from each other, with those distances, and explains
    them with the noise levels of its first step: sigma_1 and the corrector's factor (sigma_0 -
    sigma_1) / (2 sigma_1), read off the manifest's noise level of every call."""
    run = chosen[(slug, "samplers")]
    typical = typical_distance(chosen[(slug, "mix_noise")])
    budgets = run.manifest["axes"]["calls"]
    means = {b: _mean(run, "heun", b) for b in budgets}
    broken = [b for b in budgets if means[b] > typical]
    assert broken, (slug, means, typical)  # the failure the step is about is in the data
    words = _step(page, "Where Heun breaks.", slug)
    listed = lambda items: ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]
    assert (
        f"With {listed([str(b) for b in broken])} calls, Heun's finals lie "
        f"{listed([f'{means[b]:.1f}' for b in broken])} from the converged image (means over "
        f"{len(run.manifest['axes']['seeds'])} seeds; the chart draws the seed on show), further than two unrelated "
        f"{slug} samples ({typical:.1f}): broken images"
    ) in words, words
    # a budget is what a sampler may spend; Heun's n steps take 2n - 1 calls, and the page says so
    steps = run.manifest["axes"]["steps"]["heun"]
    spent = [2 * steps[str(b)] - 1 for b in broken]
    if spent != broken:
        assert f"of those budgets it spends {listed([str(c) for c in spent])}." in words, words
    # the failure is the start (sigma_max), not Heun's method: from EDM's sigma = 80 the factor is small
    s0, s1 = run.manifest["axes"]["call_sigmas"]["heun"][str(budgets[0])][:2]
    assert f"would have a factor of {round((80 - s1) / (2 * s1))}, not {round((s0 - s1) / (2 * s1))}" in words
    fine = [b for b in budgets if b not in broken]
    if fine:
        spent = [2 * steps[str(b)] - 1 for b in fine]
        paid = f" (it spends {listed([str(c) for c in spent])})" if spent != fine else ""
        assert f"With {listed([str(b) for b in fine])} calls{paid}: {listed([_dist(means[b]) for b in fine])}." in words
    axes = run.manifest["axes"]
    sigmas = axes["call_sigmas"]["heun"]
    first, last = budgets[0], budgets[-1]
    factor = lambda b: round((sigmas[str(b)][0] - sigmas[str(b)][1]) / (2 * sigmas[str(b)][1]))
    assert f"With {first} calls (σ₁ = {sigmas[str(first)][1]:.2f}) that factor is {factor(first)}" in words, words
    assert f"More calls shrink the factor ({factor(last)} with {last} calls)" in words
    assert factor(last) < factor(first)
    assert f"σ = {sigmas[str(first)][0]:.0f}" in words and "noise-level chart" in words
    highest = max(v[1] for by_budget in axes["call_sigmas"].values() for v in by_budget.values() if len(v) > 1)
    assert f"every first step ends at σ₁ = {highest:.1f} or less" in words
    # the blown-up first step, in the frames: pixels pinned at black or white, against DDIM's first step
    pinned = {
        k: np.mean(
            [
                np.mean(
                    np.abs(_pictures(run, frame_file(run.manifest, "x", sampler=k, calls=first, seed=s, step=1)) - 1)
                    >= 1
                )
                for s in axes["seeds"]
            ]
        )
        for k in ("heun", "ddim")
    }
    assert pinned["heun"] > pinned["ddim"] + 0.25, pinned
    assert (
        f"after one step {100 * pinned['heun']:.1f} % of Heun's pixels are pinned at black or white "
        f"(DDIM: {100 * pinned['ddim']:.1f} %"
    ) in words, words
    close = 0.25 * typical
    assert (f"but even with {last} calls it misses the converged picture" in words) == (means[last] > close), words


@pytest.mark.parametrize("slug", MODELS)
def test_the_noise_levels_are_diffusers_own(chosen, slug):
    """The σ of every call, as the chart draws it, is the scheduler's: its timesteps' ᾱ, and where the
    scheduler carries sigmas (Euler, Heun, DPM-Solver++) the same values, call for call."""
    from generate.experiments.samplers.compute import scheduler_for, steps_for

    run = chosen[(slug, "samplers")]
    base = run.manifest["scheduler"]["config"]
    for kind, by_budget in run.manifest["axes"]["call_sigmas"].items():
        for budget, sigmas in by_budget.items():
            scheduler = scheduler_for(kind, base, steps_for(kind, int(budget)))
            assert len(sigmas) == (2 * steps_for(kind, int(budget)) - 1 if kind == "heun" else int(budget))
            if hasattr(scheduler, "sigmas"):
                assert np.allclose(sigmas, scheduler.sigmas[: len(sigmas)].double().numpy(), rtol=1e-5), (kind, budget)


# -- 3. Euler told apart from DDIM ---------------------------------------------------------------


class _Sheets:
    """Sprite sheets stand-in: every frame its own cell."""

    def add(self, files, track=None, group=None):
        return [[0, i, f] for i, f in enumerate(files)]


@pytest.mark.parametrize("slug", MODELS)
def test_euler_is_marked_identical_to_ddim_when_the_frames_say_so(chosen, facts, page, slug):
    """The figure data says Euler is DDIM's twin exactly when no seed's final of the one lies further from
    the converged image than the other's by more than one 8-bit level on every value would make
    (recomputed from the PNGs); the page says so with that largest difference, and the chart script
    draws Euler dashed over DDIM's wide line and writes "identical to" in the legend."""
    run = chosen[(slug, "samplers")]
    gap = max(
        abs(e - d)
        for b in run.manifest["axes"]["calls"]
        for e, d in zip(_distances(run, "euler", b), _distances(run, "ddim", b))
    )
    values = _pictures(run, frame_file(run.manifest, "ref", seed=run.manifest["axes"]["seeds"][0])).size
    within = 2 / 255 * np.sqrt(values)
    data = experiments.get("samplers").figure(run, _Sheets())
    assert data["identical"] == ({"euler": "ddim"} if gap <= within else {}), (slug, gap, within)
    assert data["identical"] == {"euler": "ddim"}, (slug, gap, within)  # what the shipped models show
    words = _step(page, "A few calls.", slug)
    assert (
        f"Euler's finals are DDIM's at every budget, up to float32 rounding carried through the steps (their "
        f"distances to the converged image differ by {gap:.2f} at most)"
    ) in words, words
    script = experiments.get("samplers").page.script.read_text()
    assert "identical to ${nameOf(identical[k.kind])}" in script and "nti-sampler-over" in script


# -- 4. the probability-flow ODE named right; the converged image is DDIM with 1000 steps ----------


def test_the_ode_is_named_right_and_the_converged_image_is_what_it_is(chosen, facts, page):
    text = _text(page).replace("*", "")
    assert "Read without its randomness" not in text  # the PF-ODE is not the reverse SDE minus its noise
    assert "the score term is halved" in text and "It is not the reverse process with its noise left out" in text
    assert "exact solution" not in text
    reference = {facts[s]["samplers"]["reference"] for s in MODELS}
    assert len(reference) == 1
    assert (
        f"The converged image is DDIM with {reference.pop()} steps from the same noise: a close approximation" in text
    )


@pytest.mark.parametrize("slug", MODELS)
def test_the_converged_image_is_the_step_counts_final(chosen, slug):
    """ "The same image as the 1000-step final on the Number of steps page": one converged image on the site."""
    run, steps = chosen[(slug, "samplers")], chosen[(slug, "step_counts")]
    n = run.manifest["axes"]["reference"]
    assert n == max(steps.manifest["axes"]["steps"])
    for seed in run.manifest["axes"]["seeds"]:
        ours = _pictures(run, frame_file(run.manifest, "ref", seed=seed))
        theirs = _pictures(steps, frame_file(steps.manifest, "x", steps=n, seed=seed, step=n))
        assert np.abs(ours - theirs).max() * 127.5 <= 1, (slug, seed)  # at most one 8-bit level anywhere


# -- 5. one typical distance ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_two_unrelated_samples_is_the_sites_typical_distance(chosen, facts, page, slug):
    """The page's "two unrelated samples lie X apart" is typical_distance, the value every page
    shows (was the samplers' own mean between seeds' converged images: 26.3 against 20.9 on fashion)."""
    typical = typical_distance(chosen[(slug, "mix_noise")])
    assert facts[slug]["samplers"]["typical"] == typical
    assert f"two unrelated {slug} samples lie {typical:.1f} apart" in _step(page, "Same noise, same destination.", slug)
    assert f"two unrelated samples: {typical:.1f})" in _text(page)


# -- 7. worded per model, short names, sentences spaced --------------------------------------------


def test_every_run_fact_follows_the_model_menu(chosen, facts, page):
    """Each step that states a number has one block per model (per_model), each with that model's own
    numbers; labels are short; no sentence runs into the next."""
    steps = _steps(page)
    for step in steps:  # every step holds one block of words per model, in the menu's order
        assert [m for m in re.findall(r'<div class="nti-per-model" data-model="([^"]+)"', step)] == list(MODELS), step[
            :200
        ]
    for slug in MODELS:
        f = facts[slug]["samplers"]
        own = {
            "Same noise": f"{f['typical']:.1f}",
            "A few calls": _dist(f["mean"]["dpmpp_2m"][str(f["budgets"][1])]),
            "Where Heun breaks": f"{f['heun']['budgets'][0]['mean']:.1f}",
            "More calls, one picture": _dist(f["samplers"][0]["last"]),
        }
        for title, number in own.items():
            step = next(s for s in steps if f"**{title}" in s)
            block = re.search(rf'<div class="nti-per-model" data-model="{slug}"[^>]*>(.*?)</div>', step, re.S)
            assert block and number in _text(block.group(1)), (slug, title, number)
    text = _text(page)
    assert "a long description" not in text  # short names only
    assert not re.findall(r"[a-z0-9)%]\.[A-Z]", text), re.findall(r".{20}[a-z0-9)%]\.[A-Z].{20}", text)


def test_the_prose_stays_within_a_lesson_length(page):
    """600 to 900 words of prose for one model (the fold-out maths and the tables not counted)."""
    slug = MODELS[0]
    intro = _text(page.split('<div class="nti-scrolly"', 1)[0].split("# Samplers", 1)[1])
    words = len(intro.split()) + sum(len(_words(s, slug).split()) for s in _steps(page))
    assert 600 <= words <= 900, words


@pytest.mark.parametrize("slug", MODELS)
def test_what_the_page_says_of_ddpms_finals_holds_for_each_final(chosen, facts, page, slug):
    """DDPM's finals against the converged image, final by final (each seed, each budget), recomputed
    from the PNGs: "each of its finals stays at least half a typical distance away" only when every
    one does; where only the means do, the page says so and names how many finals come closer and the
    nearest (emoji-32: seed 2 with 50 calls lies 4.3 away, within a quarter: the converged picture)."""
    run = chosen[(slug, "samplers")]
    typical = typical_distance(chosen[(slug, "mix_noise")])
    axes = run.manifest["axes"]
    finals = [(d, s, b) for b in axes["calls"] for s, d in zip(axes["seeds"], _distances(run, "ddpm", b))]
    words = _step(page, "More calls, one picture.", slug)
    closer = [f for f in finals if f[0] < 0.5 * typical]
    if not closer:
        assert f"each of its {len(finals)} finals" in words and "at least half a typical distance away" in words
    else:
        assert "each of its" not in words, words
        assert all(np.mean(_distances(run, "ddpm", b)) >= 0.5 * typical for b in axes["calls"])  # the means branch
        d, seed, budget = min(finals)
        assert f"but {len(closer)} of its {len(finals)} finals come closer than half" in words, words
        assert f"the nearest (seed {seed} with {budget} calls) {d:.1f} away" in words, words
        assert ("no further than a quarter of the typical distance" in words.split("the nearest")[1]) == (
            d <= 0.25 * typical
        )
