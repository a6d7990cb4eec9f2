"""The precompute engine on tiny random models: batching, seeds, resume, manifests."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler
from site_support import SMALL, make_tiny_model, manifests, tree_bytes, viridis_index

from generate import experiments
from generate.core.loading import load_model
from generate.core.sampling import generators, reverse_process, split_prediction, start_noise
from generate.errors import UsageError
from generate.manifest import find_manifests, read_manifest, verify_frames
from generate.precompute import precompute
from generate.precompute.config import load_config
from generate.toolkit.png import decode_png


def small_config(tmp_path: Path, model: Path, max_batch: int = 64, reverse_scheduler: str = "ddpm"):
    path = tmp_path / f"config-{max_batch}-{reverse_scheduler}.toml"
    path.write_text(SMALL.format(model=model, max_batch=max_batch, reverse_scheduler=reverse_scheduler))
    return load_config(str(path))


def frames_of(runs: Path) -> dict[str, dict]:
    """experiment -> {frame file: (decoded pixels, metrics, panel or None)} for every manifest under
    runs (image frames: live's graph is compared in tests/test_live_export.py)."""
    result = {}
    for path in find_manifests(runs):
        manifest = read_manifest(path)
        experiment = experiments.get(manifest["experiment"])
        result[manifest["experiment"]] = {
            f["file"]: (
                decode_png((path.parent / f["file"]).read_bytes()),
                f["metrics"],
                experiment.panel(f["coords"]["panel"]) if "panel" in f["coords"] else None,
            )
            for f in manifest["frames"]
            if f["file"].endswith(".png")
        }
    return result


def levels_apart(panel, a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """How far apart two renderings of one frame are, and how far they may be: an image within one
    8-bit level (float rounding); a heatmap compared by its viridis index, within what one level of the
    images it compares moves it (2 / heat_scale) plus one for its own rounding."""
    if panel is None or panel.heat_scale is None:
        return int(np.abs(a.astype(int) - b.astype(int)).max()), 1
    return int(np.abs(viridis_index(a) - viridis_index(b)).max()), 1 + 2 / panel.heat_scale


@pytest.fixture(scope="module")
def batched_runs(tmp_path_factory, tiny_rgb):
    tmp = tmp_path_factory.mktemp("batched")
    results = precompute(small_config(tmp, tiny_rgb), tmp / "runs", progress=False, log=lambda *a: None)
    return tmp / "runs", results


def test_every_experiment_writes_a_valid_frame_set(batched_runs):
    runs, results = batched_runs
    # every experiment but the ones this unconditional model cannot run (guidance: tests/test_guidance.py)
    model = load_model(str(manifests(runs)[(next(iter(manifests(runs)))[0], "live")]["model"]["path"]))
    runnable = [
        n for n in experiments.names() if not (experiments.get(n).cannot_run and experiments.get(n).cannot_run(model))
    ]
    assert "guidance" not in runnable and len(runnable) == len(experiments.names()) - 1
    assert sorted(r["experiment"] for r in results) == sorted(runnable)
    for path in find_manifests(runs):
        manifest = read_manifest(path)
        assert manifest["schema"] == 1
        assert manifest["model"]["weights_sha256"] and manifest["scheduler"]["class"].endswith("Scheduler")
        assert verify_frames(path, manifest) == []
    frames = frames_of(runs)
    # live: one frame, the UNet's ONNX graph
    assert [f["file"] for f in manifests(runs)[(next(iter(manifests(runs)))[0], "live")]["frames"]] == [
        "frames/unet.onnx"
    ]
    # reverse: T+1 states, T noise and T x0 panels per seed
    assert len(frames["reverse"]) == 3 * (5 + 4 + 4)
    # spectra: the same panels, each frame with its spectrum (T = 3, 2 seeds; 16 px: k = 1..8)
    assert len(frames["spectra"]) == 2 * (4 + 3 + 3)
    # trajectories: x_t (T + 1) and x0 estimates (T) per seed, no noise panel (T = 3, 2 seeds)
    assert len(frames["trajectories"]) == 2 * (4 + 3)
    # forward/backward: the original, the triangle T(T+1)/2 + T noised rows, and T difference maps
    assert len(frames["forward_backward"]) == 1 + 5 * 6 // 2 + 5 + 5
    # patch: per seed n1, o1 and 4 panels per (size, position) cell
    assert len(frames["patch_noise"]) == 2 * (2 + 4 * 4)
    # samplers (budgets 2 and 4 calls, 2 seeds): each trajectory's n + 1 states (Heun: (calls + 1) // 2
    # steps), a converged image and a difference map per sampler and budget, per seed
    states = sum(n + 1 for n in (2, 4) for _ in ("ddim", "dpmpp_2m", "euler", "ddpm")) + sum(n + 1 for n in (1, 2))
    assert len(frames["samplers"]) == 2 * (states + 1 + 5 * 2)
    # schedules (3 levels, 2 sources): per source its clean image, and per schedule and level the
    # noised image and the two x0 estimates
    assert len(frames["schedules"]) == 2 * (1 + 2 * 3 * 3)


def test_batched_equals_one_image_at_a_time(tmp_path, tiny_rgb, batched_runs):
    """max_batch = 1 sends every image through the UNet alone: same frames within float tolerance."""
    runs, _ = batched_runs
    precompute(small_config(tmp_path, tiny_rgb, max_batch=1), tmp_path / "runs", progress=False, log=lambda *a: None)
    batched, single = frames_of(runs), frames_of(tmp_path / "runs")
    for experiment, frames in batched.items():
        assert frames.keys() == single[experiment].keys(), experiment
        for name, (pixels, metrics, panel) in frames.items():
            other_pixels, other_metrics, _ = single[experiment][name]
            difference, tolerance = levels_apart(panel, pixels, other_pixels)
            assert difference <= tolerance, (experiment, name, difference, tolerance)
            for key, value in metrics.items():
                if isinstance(value, list):  # a spectrum: each of its values
                    assert np.allclose(value, other_metrics[key], rtol=1e-3, atol=1e-3), (name, key)
                elif value is not None:
                    assert math.isclose(value, other_metrics[key], rel_tol=1e-3, abs_tol=1e-3), (name, key)


def test_rerun_of_unchanged_config_makes_no_model_call(tmp_path, tiny_rgb, batched_runs):
    runs, _ = batched_runs
    again = precompute(small_config(tmp_path, tiny_rgb), runs, progress=False, log=lambda *a: None)
    assert all(r["cached"] and r["model_calls"] == 0 for r in again)


def _final_image(runs: Path, experiment: str, name: str) -> np.ndarray:
    [path] = [p for p in find_manifests(runs) if p.parent.parent.name == experiment]
    return decode_png((path.parent / name).read_bytes())


def _recorded_scheduler(runs: Path, experiment: str) -> dict:
    [path] = [p for p in find_manifests(runs) if p.parent.parent.name == experiment]
    return read_manifest(path)["scheduler"]["config"]


def test_seeds_reproduce_diffusers_pipelines(tmp_path, tiny_rgb, batched_runs):
    """A reader can rebuild any final image with DDPMPipeline / DDIMPipeline, the recorded scheduler
    config and the recorded seed; every run starts at the last training timestep (trailing spacing)."""
    runs, _ = batched_runs
    model = load_model(str(tiny_rgb))
    assert _recorded_scheduler(runs, "reverse")["timestep_spacing"] == "trailing"
    ddpm = DDPMPipeline(unet=model.unet, scheduler=DDPMScheduler.from_config(_recorded_scheduler(runs, "reverse")))
    for seed in (0, 2):
        expected = ddpm(generator=torch.Generator().manual_seed(seed), num_inference_steps=4, output_type="np").images[
            0
        ]
        ours = _final_image(runs, "reverse", f"frames/s{seed}/x/0004.png")
        assert np.abs((expected * 255).round() - ours).max() <= 1
    ddim = DDIMPipeline(unet=model.unet, scheduler=DDIMScheduler.from_config(_recorded_scheduler(runs, "step_counts")))
    expected = ddim(generator=torch.Generator().manual_seed(4), num_inference_steps=5, output_type="np").images[0]
    ours = _final_image(runs, "step_counts", "frames/n5/s4/x/0005.png")
    assert np.abs((expected * 255).round() - ours).max() <= 1


def test_ddim_is_deterministic_and_ddpm_is_not(tiny_rgb):
    model = load_model(str(tiny_rgb))
    shape = (3, 16, 16)
    x_T = start_noise(shape, generators([7]), model.device, torch.float32)

    def sample(kind: str, generator_seed: int) -> torch.Tensor:
        scheduler = model.scheduler(kind)
        scheduler.set_timesteps(6)
        denoise = lambda x, t: model.unet(x, t).sample
        with torch.no_grad():
            return reverse_process(denoise, scheduler, x_T.clone(), generators([generator_seed]), lambda i, s: None)

    assert torch.equal(sample("ddim", 1), sample("ddim", 2))  # same noise -> same image, always
    assert not torch.allclose(sample("ddpm", 1), sample("ddpm", 2))  # fresh noise at every step


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample"])
def test_split_prediction_recovers_noise_and_clean_image(kind):
    scheduler = DDPMScheduler(prediction_type=kind, beta_schedule="squaredcos_cap_v2")
    x0, eps, t = torch.rand(2, 3, 8, 8) * 2 - 1, torch.randn(2, 3, 8, 8), 700
    a = scheduler.alphas_cumprod[t]
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    output = {"epsilon": eps, "sample": x0, "v_prediction": a.sqrt() * eps - (1 - a).sqrt() * x0}[kind]
    got_eps, got_x0 = split_prediction(scheduler, output, x_t, t)
    assert torch.allclose(got_eps, eps, atol=1e-4) and torch.allclose(got_x0, x0, atol=1e-4)


def test_forward_noising_is_the_closed_form(batched_runs, tiny_rgb):
    runs, _ = batched_runs
    [path] = [p for p in find_manifests(runs) if p.parent.parent.name == "forward_backward"]
    manifest = read_manifest(path)
    original = decode_png((path.parent / "frames/original.png").read_bytes())
    x0 = torch.from_numpy(original.copy()).permute(2, 0, 1).float() / 127.5 - 1
    from generate.core.sampling import stream_seed

    # the documented forward-noise stream, not manual_seed(noise_seed): that is the source's own x_T
    noise = torch.randn(
        (5, 3, 16, 16), generator=torch.Generator().manual_seed(stream_seed("forward_backward.noise", 0))
    )
    source_start = torch.randn((1, 3, 16, 16), generator=torch.Generator().manual_seed(0))[0]
    assert not torch.allclose(noise[0], source_start)
    for level in (0, 2, 4):
        t = manifest["axes"]["timesteps"][level]
        a = float(DDPMScheduler.from_config(load_model(str(tiny_rgb)).scheduler_config).alphas_cumprod[t])
        expected = (a**0.5 * x0 + (1 - a) ** 0.5 * noise[level]).clamp(-1, 1)
        frame = decode_png((path.parent / f"frames/L{level:04d}/0000.png").read_bytes())
        expected_pixels = ((expected / 2 + 0.5) * 255).round().permute(1, 2, 0).numpy()
        assert np.abs(frame - expected_pixels).max() <= 1, level


def test_patch_changes_only_its_region_and_mix_keeps_unit_variance():
    from generate.experiments.similar_noise.mix import _mixed
    from generate.experiments.similar_noise.patch import _patched

    n1, fresh = torch.randn(3, 64, 64), torch.randn(3, 64, 64)
    n2 = _patched(size=8, x=16, y=40)(n1, fresh)
    changed = (n2 != n1).any(dim=0)
    assert changed[40:48, 16:24].all() and changed.sum() == 64
    big1, big_fresh = torch.randn(3, 256, 256), torch.randn(3, 256, 256)
    for scale in (0.0, 0.3, 0.7, 1.0):
        assert abs(float(_mixed(scale)(big1, big_fresh).std()) - 1.0) < 0.01
    assert torch.equal(_mixed(0.0)(n1, fresh), n1)


def test_mix_scale_zero_gives_the_same_image_under_ddim(batched_runs):
    runs, _ = batched_runs
    [path] = [p for p in find_manifests(runs) if p.parent.parent.name == "mix_noise"]
    manifest = read_manifest(path)
    zero = [f for f in manifest["frames"] if f["coords"].get("scale") == 0.0 and f["coords"]["panel"] == "o2"]
    assert zero and all(f["metrics"]["output_distance"] == 0 and f["metrics"]["noise_distance"] == 0 for f in zero)
    full = [f for f in manifest["frames"] if f["coords"].get("scale") == 1.0 and f["coords"]["panel"] == "o2"]
    assert all(f["metrics"]["output_distance"] > 0 for f in full)


@pytest.mark.parametrize(
    "channels,kind,layout",
    [(1, "epsilon", "flat"), (3, "v_prediction", "pipeline"), (1, "sample", "pipeline"), (3, "epsilon", "pipeline")],
)
def test_local_folders_of_either_layout_each_shape_and_prediction_type(tmp_path, channels, kind, layout):
    folder = make_tiny_model(tmp_path / "model", channels=channels, prediction_type=kind, layout=layout)
    config = tmp_path / "c.toml"
    config.write_text(
        f'models = ["{folder}"]\nexperiments = ["reverse", "forward_backward"]\n'
        "[reverse]\nsteps = 3\nseeds = [0]\n[forward_backward]\nsteps = 3\n"
    )
    precompute(load_config(str(config)), tmp_path / "runs", progress=False, log=lambda *a: None)
    frames = frames_of(tmp_path / "runs")
    final = frames["reverse"]["frames/s0/x/0003.png"][0]
    assert final.shape == (16, 16, channels)


def test_interrupted_run_resumes_to_the_same_bytes(tmp_path, tiny_rgb, batched_runs, monkeypatch):
    runs, _ = batched_runs
    import generate.precompute.writer as runner

    real_encode, count = runner.encode_png, {"n": 0}

    def failing_encode(image):
        count["n"] += 1
        if count["n"] == 40:
            raise KeyboardInterrupt  # as if the process were stopped mid-run
        return real_encode(image)

    monkeypatch.setattr(runner, "encode_png", failing_encode)
    with pytest.raises(KeyboardInterrupt):
        precompute(small_config(tmp_path, tiny_rgb), tmp_path / "runs", progress=False, log=lambda *a: None)
    assert len(find_manifests(tmp_path / "runs")) < 5
    monkeypatch.setattr(runner, "encode_png", real_encode)
    precompute(small_config(tmp_path, tiny_rgb), tmp_path / "runs", progress=False, log=lambda *a: None)
    assert tree_bytes(tmp_path / "runs") == tree_bytes(runs)


def test_manifest_tampering_is_detected(tmp_path, batched_runs):
    runs, _ = batched_runs
    path = find_manifests(runs)[0]
    manifest = json.loads(path.read_text())
    manifest["frames"][0]["file"] = "frames/elsewhere.png"
    copy = tmp_path / "m" / "manifest.json"
    copy.parent.mkdir()
    copy.write_text(json.dumps(manifest))
    with pytest.raises(UsageError, match="frames_sha256 does not match"):
        read_manifest(copy)
    manifest["schema"] = 99
    copy.write_text(json.dumps(manifest))
    with pytest.raises(UsageError, match="schema 99 is not supported"):
        read_manifest(copy)


def test_a_changed_grid_recomputes_only_its_new_cells(tmp_path, tiny_rgb, batched_runs):
    """step_counts [2, 5] -> [2, 5, 3]: only the 3-step trajectories are computed; bytes as if fresh."""
    runs, _ = batched_runs
    shutil.copytree(runs, tmp_path / "runs")
    changed = tmp_path / "changed.toml"
    changed.write_text(
        SMALL.format(model=tiny_rgb, max_batch=64, reverse_scheduler="ddpm").replace(
            "steps = [2, 5]", "steps = [2, 5, 3]"
        )
    )
    results = precompute(load_config(str(changed)), tmp_path / "runs", progress=False, log=lambda *a: None)
    calls = {r["experiment"]: r["model_calls"] for r in results}
    assert calls == {
        "reverse": 0,
        "spectra": 0,
        "schedules": 0,
        "step_counts": 3,
        "samplers": 0,
        "trajectories": 0,
        "forward_backward": 0,
        "patch_noise": 0,
        "mix_noise": 0,
        "live": 0,
    }
    fresh = precompute(
        load_config(str(changed)), tmp_path / "fresh", only=["step_counts"], progress=False, log=lambda *a: None
    )
    assert fresh[0]["model_calls"] == 2 + 5 + 3 + 2  # both seeds share each call; 2 more: the leading 2-step run
    new_run = Path([r["run_dir"] for r in results if r["experiment"] == "step_counts"][0])
    assert tree_bytes(new_run) == tree_bytes(Path(fresh[0]["run_dir"]))


def test_hub_ids_load_through_from_pretrained_from_the_local_hub_cache(tmp_path):
    """The real hub path, offline: a tiny model laid out as huggingface_hub caches a download."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hub" / "models--tester--tiny-ddpm" / "snapshots" / commit
    make_tiny_model(snapshot, channels=1)
    (tmp_path / "hub" / "models--tester--tiny-ddpm" / "refs").mkdir()
    (tmp_path / "hub" / "models--tester--tiny-ddpm" / "refs" / "main").write_text(commit)
    config = tmp_path / "c.toml"
    config.write_text('experiments = ["reverse"]\n[reverse]\nsteps = 2\nseeds = [0]\n')
    env = dict(os.environ, HF_HUB_CACHE=str(tmp_path / "hub"), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "generate",
            "precompute",
            "--config",
            str(config),
            "--model",
            "tester/tiny-ddpm",
            "--runs",
            str(tmp_path / "runs"),
            "--quiet",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    [manifest] = [read_manifest(p) for p in find_manifests(tmp_path / "runs")]
    assert manifest["model"]["id"] == "tester/tiny-ddpm" and manifest["model"]["source"] == "hub"
    assert manifest["model"]["config"]["in_channels"] == 1 and manifest["model"]["commit"] == commit


def test_a_smoke_grid_config_takes_each_experiments_declared_tiny_grid(tmp_path):
    """`grid = "smoke"`: a section the file leaves out is the experiment's declared tiny grid (so a new
    experiment brings its own and no shared config lists it); a section given wins key by key."""
    config_file = tmp_path / "c.toml"
    config_file.write_text('grid = "smoke"\n[reverse]\nsteps = 7\n')
    config = load_config(str(config_file))
    for experiment in experiments.all_experiments():
        section = config.sections[experiment.name]
        for key, value in experiment.smoke.items():
            if (experiment.name, key) != ("reverse", "steps"):
                assert getattr(section, key) == value, (experiment.name, key)
    assert (
        config.sections["reverse"].steps == 7
        and config.sections["reverse"].seeds == experiments.get("reverse").smoke["seeds"]
    )
    (tmp_path / "plain.toml").write_text("")  # no grid: every section at its declared defaults
    plain = load_config(str(tmp_path / "plain.toml"))
    assert all(plain.sections[e.name] == e.config() for e in experiments.all_experiments())


def test_a_section_with_its_own_models_runs_on_those_only(tmp_path, tiny_rgb, tiny_grey_v):
    """A section's own `models` (the guidance lesson's class-conditional model, an experiment too
    costly for every model): that experiment runs on its list, every other on the top-level one;
    `--model` still runs everything on its models; the printed config keeps the list; a bad list is
    refused with the key's name."""
    from generate.precompute.config import to_toml

    config_file = tmp_path / "c.toml"
    config_file.write_text(
        f'grid = "smoke"\nmodels = ["{tiny_rgb}"]\nexperiments = ["reverse", "spectra"]\n'
        f'[spectra]\nmodels = ["{tiny_grey_v}"]\nsteps = 2\n'
    )
    config = load_config(str(config_file))
    assert config.models_for("spectra") == [str(tiny_grey_v)] and config.models_for("reverse") == [str(tiny_rgb)]
    assert config.all_models() == [str(tiny_rgb), str(tiny_grey_v)]
    rgb, grey = load_model(str(tiny_rgb)).slug, load_model(str(tiny_grey_v)).slug
    precompute(config, tmp_path / "runs", progress=False, log=lambda *_: None)
    assert set(manifests(tmp_path / "runs")) == {(rgb, "reverse"), (grey, "spectra")}
    precompute(config, tmp_path / "cli", models=[str(tiny_rgb)], progress=False, log=lambda *_: None)
    assert set(manifests(tmp_path / "cli")) == {(rgb, "reverse"), (rgb, "spectra")}
    (tmp_path / "printed.toml").write_text(to_toml(config))
    assert load_config(str(tmp_path / "printed.toml")).section_models == {"spectra": [str(tiny_grey_v)]}
    for bad, message in (
        ('[spectra]\nmodels = "fashion-32"\n', 'spectra.models = "fashion-32": must be a list of strings'),
        ("[spectra]\nmodels = []\n", "spectra.models = []: must list at least one model"),
        ("[spectra]\nmodel = []\n", "spectra.model: unknown key; allowed: models, "),
    ):
        config_file.write_text(bad)
        with pytest.raises(UsageError, match=re.escape(message)):
            load_config(str(config_file))


@pytest.mark.parametrize("name", ["default", "smoke"])
def test_the_printed_config_loads_back_to_the_same_config(name, tmp_path):
    """`generate config NAME` spells out every key with its help; the file it prints is the same config."""
    from generate.precompute.config import to_toml

    config = load_config(name)
    text = to_toml(config)
    (tmp_path / "printed.toml").write_text(text)
    again = load_config(str(tmp_path / "printed.toml"))
    assert again.models == config.models and again.run == config.run and again.experiments == config.experiments
    assert again.sections == config.sections
    assert "# most images per UNet call" in text and "[mix_noise]  # similar noise" in text


def test_progress_for_a_log_is_whole_lines_every_interval():
    """Where stderr is not a terminal (CI, `make site > log`), progress is a whole line every interval
    and one at the end, never carriage-return updates (a log of one endless line)."""
    import io

    from generate.precompute.run import LogLines

    out = io.StringIO()
    quiet = LogLines(1000, "m", interval=3600, out=out)
    for _ in range(10):
        quiet.update(100)
    quiet.close()
    assert "\r" not in out.getvalue() and out.getvalue().count("\n") == 1  # the end only
    assert out.getvalue().startswith("m: 1,000 of 1,000 images (100 %)")

    out = io.StringIO()
    chatty = LogLines(1000, "m", interval=0, out=out)
    for _ in range(4):
        chatty.update(250)
    chatty.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and lines[0].startswith("m: 250 of 1,000 images (25 %)") and "min left" in lines[0]
    assert "\r" not in out.getvalue()


def test_a_shared_trajectory_is_computed_once_with_the_frames_of_separate_runs(tmp_path, tiny_rgb):
    """Step counts' 8-step DDIM run and the samplers' 8-step converged reference (same seeds) are one
    trajectory: run together, its model calls happen once (and the estimate counts them once); every
    frame and number equals those of the two experiments run apart, in separate runs folders."""

    def config(name: str, only: str) -> object:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'models = ["{tiny_rgb}"]\ngrid = "smoke"\nexperiments = [{only}]\n'
            "[step_counts]\nsteps = [2, 8]\nseeds = [0, 1]\nleading = []\n"
            '[samplers]\nreference = 8\nseeds = [0, 1]\ncalls = [2]\nsamplers = ["ddim", "euler"]\n'
        )
        return load_config(str(path))

    quiet = dict(progress=False, log=lambda *a: None)
    both = config("both", '"step_counts", "samplers"')
    estimate = precompute(both, tmp_path / "together", dry_run=True, **quiet)
    together = precompute(both, tmp_path / "together", **quiet)
    apart = precompute(config("counts", '"step_counts"'), tmp_path / "apart-1", **quiet)
    apart += precompute(config("samplers", '"samplers"'), tmp_path / "apart-2", **quiet)
    calls = {r["experiment"]: r["model_calls"] for r in together}
    calls_apart = {r["experiment"]: r["model_calls"] for r in apart}
    # apart, each computes the 8-step run (8 calls of the batch of both seeds); together, only one does
    assert sum(calls_apart.values()) - sum(calls.values()) == 8, (calls, calls_apart)
    assert sum(c["calls"] for c in estimate) == sum(calls.values())
    assert len(list((tmp_path / "together").glob("*/.trajectories/ddim-trailing-n8-seeds-0-1-*.npz"))) == 1
    shared, alone = (
        frames_of(tmp_path / "together"),
        {**frames_of(tmp_path / "apart-1"), **frames_of(tmp_path / "apart-2")},
    )
    assert shared.keys() == alone.keys() == {"step_counts", "samplers"}
    for experiment, frames in shared.items():
        assert frames.keys() == alone[experiment].keys()
        for name, (pixels, metrics, _) in frames.items():
            assert np.array_equal(pixels, alone[experiment][name][0]) and metrics == alone[experiment][name][1], name
    again = precompute(both, tmp_path / "together", **quiet)  # finished: nothing computed, the store unread
    assert all(r["cached"] and r["model_calls"] == 0 for r in again)


def test_a_late_claim_on_a_finished_run_leaves_no_claims_folder(tmp_path, tiny_rgb, batched_runs):
    """A process that claims a unit just after another wrote the run's manifest (and tidied its
    claims/ away) finds the unit done, lets go, and removes the folder its claim re-made: a finished
    run holds its manifest, run.json and frames only."""
    from generate.precompute.claims import Claims
    from generate.precompute.plan import prepare
    from generate.precompute.run import _take_one

    runs, _ = batched_runs
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    model = load_model(str(tiny_rgb))
    run = prepare(experiments.get("reverse"), small_config(tmp_path, tiny_rgb), model, copy)
    assert run.finished() and not (run.run_dir / "claims").exists()
    claims = Claims()
    try:
        taken = _take_one([(run, run.units[0])], claims, lambda *a: pytest.fail("a finished unit was computed"))
    finally:
        claims.close()
    assert taken is None and not (run.run_dir / "claims").exists()


def test_the_traced_unet_answers_bit_for_bit_as_the_eager_one_or_is_not_used(tmp_path, monkeypatch):
    """core/traced.py: on the CPU the UNet runs as a frozen trace only where its output equals the
    eager UNet's bit for bit (checked on the first call); a trace that differs is dropped."""
    import torch

    from generate.core import traced
    from generate.core.loading import load_model

    for classes in (0, 3):
        model = load_model(str(make_tiny_model(tmp_path / f"m{classes}", channels=1, classes=classes)))
        size = model.sample_size
        for batch in (1, 4, 9):
            x = torch.randn(batch, 1, size, size, generator=torch.Generator().manual_seed(batch))
            x = x.contiguous(memory_format=torch.channels_last)
            t = torch.randint(0, 1000, (batch,), generator=torch.Generator().manual_seed(batch)).float()
            labels = torch.randint(0, classes + 1, (batch,)) if classes else None
            with torch.no_grad():
                eager = model.unet(x, t, **({"class_labels": labels} if classes else {})).sample
            assert torch.equal(traced.unet_call(model, x, t, labels), eager)
        [(unet, kept)] = model.traced.values()
        assert unet is model.unet and isinstance(kept, torch.jit.ScriptModule), "it answered exactly: used"
    # a trace that answers differently is not used: the model stays eager
    model = load_model(str(make_tiny_model(tmp_path / "off", channels=1)))
    monkeypatch.setattr(traced, "_trace", lambda unet, args: lambda *a: unet(*a[:2]).sample + 1e-3)
    x = torch.randn(2, 1, model.sample_size, model.sample_size).contiguous(memory_format=torch.channels_last)
    t = torch.tensor([10.0, 900.0])
    with torch.no_grad():
        eager = model.unet(x, t).sample
    assert torch.equal(traced.unet_call(model, x, t, None), eager)
    assert [kept for _, kept in model.traced.values()] == [False]
    assert torch.equal(traced.unet_call(model, x, t, None), eager)
