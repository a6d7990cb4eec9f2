"""Live mode's JavaScript numerics (site_src/assets/js/live/) against torch and diffusers, in Chromium.

randn.js must draw torch's CPU numbers for a seed, scheduler.js must step as diffusers' DDIM (eta 0)
and DDPM schedulers do, sampler.js must run generate/core/sampling.py's reverse process and map to
8-bit as its `to_uint8` does. Each test prints the measured max |JS - Python| (`pytest -s` shows
them; GUIDE.md "Live mode" quotes them). The three ES modules are imported into a blank page, as the
module worker and the live forms import them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from site_support import CHROMIUM, REPO

from generate.core.loading import LoadedModel
from generate.core.sampling import generators, reverse_process, split_prediction, start_noise, to_uint8
from generate.spacing import sampling_config

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

LIVE = REPO / "site_src" / "assets" / "js" / "live"
SCRIPTS = ("randn.js", "scheduler.js", "sampler.js")
SHIPPED = REPO / "generate" / "models"
SEEDS = (0, 1, 42, 2**32 - 1, 2**40 + 7)  # the last is truncated to 32 bits as torch does


@pytest.fixture(scope="module")
def page(browser):
    """A page at a made-up origin serving the live folder, with the three modules' exports gathered in
    window.NTILive (the name the tests below use)."""
    context = browser.new_context()

    def answer(route):
        name = route.request.url.removeprefix("http://nti.test/")
        if not name:
            return route.fulfill(body="<!doctype html><title>numerics</title>", content_type="text/html")
        route.fulfill(body=(LIVE / name).read_text(encoding="utf-8"), content_type="text/javascript")

    context.route("http://nti.test/**", answer)
    page = context.new_page()
    page.goto("http://nti.test/")
    page.evaluate(
        "async (names) => { const modules = await Promise.all(names.map((n) => import('/' + n)));"
        " window.NTILive = Object.assign({}, ...modules); }",
        list(SCRIPTS),
    )
    assert (
        page.evaluate("typeof NTILive.TorchGenerator + typeof NTILive.Scheduler + typeof NTILive.sample")
        == "functionfunctionfunction"
    )
    yield page
    context.close()


def max_diff(js, reference, relative: bool = False) -> float:
    """max |JS - Python|; relative: divided by max(1, |Python|), i.e. absolute for pixel-sized values
    and relative for the large unclipped x_0 of high-noise epsilon steps (x_0 ~ x_t / sqrt(alpha_bar),
    hundreds, where one float32 ulp is already above 1e-5)."""
    js = np.asarray(js, dtype=np.float64)
    reference = np.asarray(torch.as_tensor(reference).double().flatten())
    assert js.shape == reference.shape, (js.shape, reference.shape)
    if not js.size:
        return 0.0
    diff = np.abs(js - reference)
    return float(np.max(diff / np.maximum(1.0, np.abs(reference)) if relative else diff))


def report(what: str, value: float) -> None:
    print(f"\n[live numerics] {what}: max |JS - Python| = {value:.3g}")


def shipped_config(name: str) -> dict:
    return json.loads((SHIPPED / name / "scheduler_config.json").read_text())


def diffusers_scheduler(config: dict, kind: str):
    """diffusers' own scheduler for `config`, as it stands: scheduler.js must honour every key the
    config sets (spacing, clipping, offsets), whatever the project's samplers choose."""
    clean = {k: v for k, v in config.items() if not k.startswith("_")}
    return (DDPMScheduler if kind == "ddpm" else DDIMScheduler).from_config(clean)


def project_scheduler(config: dict, kind: str):
    """The scheduler exactly as the project's samplers build it: LoadedModel.scheduler(kind)
    (loading.py), i.e. the model's config with generate/spacing.py's sampling rules applied."""
    clean = {k: v for k, v in config.items() if not k.startswith("_")}
    model = LoadedModel(
        unet=None, scheduler_config=clean, identity={}, device=torch.device("cpu"), dtype=torch.float32, slug="test"
    )
    return model.scheduler(kind)


# ---------------------------------------------------------------------------------------------- randn

RANDN_JS = """([seed, sizes]) => {
    const g = new NTILive.TorchGenerator(BigInt(seed));
    return sizes.map((n) => Array.from(g.randn(n)));
}"""


@pytest.mark.parametrize("seed", SEEDS)
def test_randn_equals_torch_for_fresh_generators_and_continued_streams(page, seed):
    """Each size from a fresh manual_seed(seed) generator; then one generator drawing sizes in a row
    (two 3x32x32 start noises, and a mix of both paths, whose scalar path caches a second normal)."""
    worst = 0.0
    for n in (1024, 3072, 1000, 7, 15, 16, 1):
        js = page.evaluate(RANDN_JS, [str(seed), [n]])[0]
        worst = max(worst, max_diff(js, torch.randn(n, generator=torch.Generator().manual_seed(seed))))
    for stream in ([3 * 32 * 32, 3 * 32 * 32], [7, 1000, 5, 3072, 1, 3]):
        js = page.evaluate(RANDN_JS, [str(seed), stream])
        g = torch.Generator().manual_seed(seed)
        for values, n in zip(js, stream):
            worst = max(worst, max_diff(values, torch.randn(n, generator=g)))
    report(f"randn, seed {seed}", worst)
    assert worst < 1e-5


def test_randn_seeds_are_truncated_as_torch_truncates_them(page):
    """manual_seed keeps the low 32 bits (negative seeds modulo 2**64 first)."""
    js = page.evaluate("""() => [[2n ** 32n + 5n, 5n, -1n, 2n ** 64n - 1n].map((s) => NTILive.seed32(s)),
                                 Array.from(new NTILive.TorchGenerator(-1).randn(20))]""")
    assert js[0] == [5, 5, 2**32 - 1, 2**32 - 1]
    assert max_diff(js[1], torch.randn(20, generator=torch.Generator().manual_seed(-1))) < 1e-5
    # and the test can tell seeds apart: seed 1 is not seed 0
    assert (
        max_diff(page.evaluate(RANDN_JS, ["1", [64]])[0], torch.randn(64, generator=torch.Generator().manual_seed(0)))
        > 0.1
    )


# ------------------------------------------------------------------------------------- schedule, timesteps


@pytest.mark.parametrize(
    "schedule",
    [
        {"beta_schedule": "linear"},
        {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
        {"beta_schedule": "squaredcos_cap_v2"},
        {"beta_schedule": "linear", "rescale_betas_zero_snr": True},
        {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 37},
    ],
)
@pytest.mark.parametrize("kind", ["ddim", "ddpm"])
def test_alphas_cumprod_equal_diffusers(page, schedule, kind):
    config = {"_class_name": "DDPMScheduler", **schedule}
    js = page.evaluate(
        "([c, k]) => { const s = new NTILive.Scheduler(c, k); return [Array.from(s.betas), "
        "Array.from(s.alphasCumprod), s.finalAlphaCumprod]; }",
        [config, kind],
    )
    reference = diffusers_scheduler(config, kind)
    worst = max(max_diff(js[0], reference.betas), max_diff(js[1], reference.alphas_cumprod))
    final = reference.final_alpha_cumprod if kind == "ddim" else reference.one
    worst = max(worst, abs(js[2] - float(final)))
    report(f"schedule {schedule} ({kind})", worst)
    # Bit for bit but for the zero-SNR rescaling, which takes square roots: torch's float32 sqrt on
    # the CPU is not always correctly rounded (1 ulp off in about 1 value in 6), and the ratios of
    # small alpha_bar near t = T magnify that ulp.
    assert worst < (1e-5 if schedule.get("rescale_betas_zero_snr") else 1e-7)


@pytest.mark.parametrize("spacing, offset", [("leading", 0), ("leading", 1), ("trailing", 0), ("linspace", 0)])
@pytest.mark.parametrize("kind", ["ddim", "ddpm"])
def test_set_timesteps_equals_diffusers(page, kind, spacing, offset):
    counts = [1, 3, 7, 10, 50, 999, 1000]
    config = {"timestep_spacing": spacing, "steps_offset": offset}
    js = page.evaluate(
        "([c, k, counts]) => { const s = new NTILive.Scheduler(c, k); return counts.map((n) => s.setTimesteps(n)); }",
        [config, kind, counts],
    )
    for n, timesteps in zip(counts, js):
        reference = diffusers_scheduler(config, kind)
        reference.set_timesteps(n)
        assert timesteps == reference.timesteps.tolist(), (n, spacing)


def test_bad_configs_are_refused_with_the_key_named(page):
    errors = page.evaluate("""() => [
        [{beta_schedule: "sigmoid"}, "ddpm"], [{variance_type: "learned_range"}, "ddpm"],
        [{prediction_type: "x0"}, "ddim"], [{}, "euler"]].map(([c, k]) => {
            try { new NTILive.Scheduler(c, k); return "accepted"; } catch (e) { return e.message; } })""")
    for message, word in zip(errors, ("beta_schedule", "variance_type", "prediction_type", "ddim, ddpm")):
        assert word in message, message


# -------------------------------------------------------------------------------------------- one step

STEP_JS = """([config, kind, steps, index, output, sample, seed]) => {
    const s = new NTILive.Scheduler(config, kind);
    s.setTimesteps(steps);
    const g = new NTILive.TorchGenerator(seed);
    const r = s.step(Float32Array.from(output), s.timesteps[index], Float32Array.from(sample), g);
    return [Array.from(r.prevSample), Array.from(r.predOriginalSample)];
}"""
SHAPE = (1, 3, 16, 16)


def _step_case(page, config: dict, kind: str, steps: int, index: int, seed: int = 7) -> float:
    inputs = torch.Generator().manual_seed(1234)
    output = torch.randn(SHAPE, generator=inputs) * 1.5  # * 1.5: some x_0 leave [-1, 1], so clipping acts
    sample = torch.randn(SHAPE, generator=inputs) * 1.2
    reference = diffusers_scheduler(config, kind)
    reference.set_timesteps(steps)
    t = reference.timesteps[index]
    result = reference.step(output, t, sample, generator=torch.Generator().manual_seed(seed))
    js = page.evaluate(
        STEP_JS, [config, kind, steps, index, output.flatten().tolist(), sample.flatten().tolist(), seed]
    )
    # the step moved the sample (a test that cannot pass by returning its input)
    assert max_diff(js[0], sample) > 1e-3
    return max(
        max_diff(js[0], result.prev_sample, relative=True), max_diff(js[1], result.pred_original_sample, relative=True)
    )


@pytest.mark.parametrize("schedule", ["linear", "squaredcos_cap_v2"])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("kind", ["ddim", "ddpm"])
@pytest.mark.parametrize("prediction", ["epsilon", "sample", "v_prediction"])
def test_one_step_equals_diffusers(page, prediction, kind, clip, schedule):
    """First, middle and last step (t = 0: no DDPM noise; DDIM's alpha_bar_prev = 1)."""
    config = {"beta_schedule": schedule, "prediction_type": prediction, "clip_sample": clip}
    steps = 50 if kind == "ddim" else 20
    worst = max(_step_case(page, config, kind, steps, index) for index in (0, steps // 2, steps - 1))
    report(f"step {kind} {prediction} clip={clip} {schedule} (relative above 1)", worst)
    assert worst < 1e-5


@pytest.mark.parametrize(
    "config, kind",
    [
        ({"thresholding": True, "prediction_type": "sample", "sample_max_value": 1.4}, "ddim"),
        ({"thresholding": True, "sample_max_value": 2.0}, "ddpm"),
        ({"variance_type": "fixed_small_log"}, "ddpm"),
        ({"variance_type": "fixed_large"}, "ddpm"),
        ({"set_alpha_to_one": False, "timestep_spacing": "trailing"}, "ddim"),
        ({"steps_offset": 1, "clip_sample_range": 0.5}, "ddpm"),
        (
            {
                "beta_schedule": "linear",
                "rescale_betas_zero_snr": True,
                "prediction_type": "v_prediction",
                "timestep_spacing": "trailing",
            },
            "ddim",
        ),
    ],
)
def test_other_scheduler_options_step_as_diffusers(page, config, kind):
    steps = 25
    worst = max(_step_case(page, config, kind, steps, index) for index in (0, 11, steps - 1))
    report(f"step {kind} {config} (relative above 1)", worst)
    assert worst < 1e-5


def test_add_noise_and_split_prediction_equal_python(page):
    config = shipped_config("fashion-32")  # v_prediction
    x0, noise = torch.rand(SHAPE) * 2 - 1, torch.randn(SHAPE)
    worst = 0.0
    for kind, t in (("ddim", 999), ("ddim", 500), ("ddpm", 3)):
        for prediction in ("epsilon", "sample", "v_prediction"):
            cfg = {**config, "prediction_type": prediction}
            scheduler = project_scheduler(cfg, kind)
            js = page.evaluate(
                """([c, k, t, x0, noise]) => {
                const s = new NTILive.Scheduler(c, k);
                const xt = s.addNoise(Float32Array.from(x0), Float32Array.from(noise), t);
                const split = s.splitPrediction(Float32Array.from(noise), xt, t);
                return [Array.from(xt), Array.from(split.predEpsilon), Array.from(split.predOriginalSample),
                        Array.from(s.predEpsilon(Float32Array.from(noise), xt, t))];
            }""",
                [cfg, kind, t, x0.flatten().tolist(), noise.flatten().tolist()],
            )
            xt = scheduler.add_noise(x0, noise, torch.tensor([t]))
            eps, x0_hat = split_prediction(scheduler, noise, xt, t)
            worst = max(worst, max_diff(js[0], xt), max_diff(js[1], eps), max_diff(js[2], x0_hat), max_diff(js[3], eps))
    report("add_noise, split_prediction", worst)
    assert worst < 1e-5


# ------------------------------------------------------------------------------------------ whole loops

FAKE_DENOISER_JS = """
    self.fakeDenoise = async (x, t) => {
        const c = Math.fround(t / 1000);
        return x.map((v) => Math.tanh(Math.fround(Math.fround(0.5 * v) + c)));
    };
"""


def fake_denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A deterministic stand-in for the UNet: tanh(0.5 x + t / 1000)."""
    return torch.tanh(0.5 * x + (t.float() / 1000).view(-1, 1, 1, 1))


LOOP_JS = """async ([config, kind, steps, seed, channels, size, startIndex, x0]) => {
    const s = new NTILive.Scheduler(config, kind);
    s.setTimesteps(steps);
    const g = new NTILive.TorchGenerator(BigInt(seed));
    let x = g.randn(channels * size * size);
    if (startIndex > 0) x = s.addNoise(Float32Array.from(x0), x, s.timesteps[startIndex]);
    const estimates = {};
    const final = await NTILive.sample({ scheduler: s, x, generator: g, denoise: self.fakeDenoise, startIndex,
        onStep: (i, r) => { if (i % 10 === 0) estimates[i] = [r.t, Array.from(r.predOriginalSample)]; } });
    return [Array.from(final), estimates];
}"""


@pytest.mark.parametrize(
    "model, kind, steps, start",
    [
        ("fashion-32", "ddim", 50, 0),
        ("emoji-32", "ddim", 50, 0),
        ("fashion-32", "ddpm", 20, 0),
        ("emoji-32", "ddpm", 20, 0),
        ("emoji-32", "ddim", 50, 20),  # forward then backward: x_0 noised to timesteps[20], then from there
    ],
)
def test_a_whole_run_equals_the_projects_reverse_process(page, model, kind, steps, start):
    channels = json.loads((SHIPPED / model / "config.json").read_text())["in_channels"]
    size, seed = 32, 0
    config = sampling_config(shipped_config(model))  # as live's export hands it to the page (live/compute.py)
    page.add_script_tag(content=FAKE_DENOISER_JS)
    x0 = torch.rand((1, channels, size, size), generator=torch.Generator().manual_seed(99)) * 2 - 1
    js_final, js_estimates = page.evaluate(
        LOOP_JS, [config, kind, steps, str(seed), channels, size, start, x0.flatten().tolist()]
    )

    scheduler = project_scheduler(config, kind)
    scheduler.set_timesteps(steps)
    gens = generators([seed])
    x = start_noise((channels, size, size), gens, torch.device("cpu"), torch.float32)
    if start > 0:
        x = scheduler.add_noise(x0, x, scheduler.timesteps[start : start + 1])
    estimates = {}

    def on_step(index, step):
        if index % 10 == 0:
            estimates[index] = (step.timestep, step.pred_original_sample)

    final = reverse_process(fake_denoise, scheduler, x, gens if kind == "ddpm" else None, on_step, start_index=start)
    assert sorted(int(i) for i in js_estimates) == sorted(estimates)
    worst = max_diff(js_final, final)
    for index, (t, estimate) in estimates.items():
        assert js_estimates[str(index)][0] == t
        worst = max(worst, max_diff(js_estimates[str(index)][1], estimate))
    report(f"{steps}-step {kind} run, {model}, seed {seed}, from index {start}", worst)
    assert worst < 1e-4
    assert max_diff(js_final, x) > 0.1  # the run moved far from its start


def test_the_abort_signal_stops_a_run(page):
    page.add_script_tag(content=FAKE_DENOISER_JS)
    outcome = page.evaluate("""async () => {
        const s = new NTILive.Scheduler({}, "ddim");
        const controller = new AbortController();
        let calls = 0;
        const denoise = async (x, t) => { calls++; return self.fakeDenoise(x, t); };
        try {
            await NTILive.sample({ scheduler: s, steps: 50, x: new NTILive.TorchGenerator(0).randn(48), denoise,
                signal: controller.signal, onStep: (i) => { if (i === 3) controller.abort(); } });
            return ["finished", calls];
        } catch (e) { return [e.name, calls]; }
    }""")
    assert outcome == ["AbortError", 4]


# ------------------------------------------------------------------------------------------- to 8-bit


def test_to_rgba_equals_to_uint8(page):
    """Edge values, values whose x / 2 + 0.5 lands on k + 0.5 out of 255, and their float neighbours."""
    k = np.arange(255, dtype=np.float64)
    ties = (((k + 0.5) / 255 - 0.5) * 2).astype(np.float32)
    edges = np.array([-1, 1, 0, -1.5, 1.5, -0.0, 1 / 255, -1 / 255, 0.5, -0.5, 1e-8], dtype=np.float32)
    values = np.concatenate([edges, ties, np.nextafter(ties, np.float32(2)), np.nextafter(ties, np.float32(-2))])
    for channels, size in ((3, 16), (1, 28)):
        n = channels * size * size
        x = np.resize(values, n).astype(np.float32)
        x[-50:] = np.random.default_rng(0).uniform(-1.2, 1.2, 50)
        js = page.evaluate(
            "([x, c, s]) => Array.from(NTILive.toRGBA(Float32Array.from(x), c, s))", [x.tolist(), channels, size]
        )
        rgba = np.asarray(js, dtype=np.uint8).reshape(size, size, 4)
        reference = to_uint8(torch.from_numpy(x).reshape(1, channels, size, size))[0].numpy()
        expected = np.repeat(reference, 3, axis=2) if channels == 1 else reference
        assert np.array_equal(rgba[..., :3], expected), np.argwhere(rgba[..., :3] != expected)[:5]
        assert (rgba[..., 3] == 255).all()


def test_the_scripts_run_in_a_worker(page):
    """As live mode's module worker imports them: the modules import each other inside a worker and
    draw the same noise and step there as on the page."""
    source = """
        import { Scheduler } from "http://nti.test/scheduler.js";
        import { TorchGenerator } from "http://nti.test/randn.js";
        self.onmessage = () => {
            const s = new Scheduler({prediction_type: "v_prediction"}, "ddpm");
            s.setTimesteps(10);
            const g = new TorchGenerator(3);
            const x = g.randn(64);
            postMessage(Array.from(s.step(x.map((v) => v / 2), s.timesteps[0], x, g).prevSample));
        };"""
    js = page.evaluate(
        """(source) => new Promise((resolve, reject) => {
        const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
        const worker = new Worker(url, {type: "module"});
        worker.onmessage = (event) => { resolve(event.data); worker.terminate(); };
        worker.onerror = (event) => reject(new Error(event.message || "the worker failed"));
        worker.postMessage(null);
    })""",
        source,
    )
    scheduler = diffusers_scheduler({"prediction_type": "v_prediction"}, "ddpm")
    scheduler.set_timesteps(10)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 1, 8, 8, generator=g)
    expected = scheduler.step(x / 2, scheduler.timesteps[0], x, generator=g).prev_sample
    worst = max_diff(js, expected)
    report("a DDPM step in a worker", worst)
    assert worst < 1e-5
