"""Classifier-free guidance (generate/core/guidance.py) against a plain diffusers loop: the guided
reverse process, both branches in one batched call, makes the frames of two separate UNet calls per
step combined by hand, for epsilon and v models, at several scales in one batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler
from PIL import Image
from site_support import make_tiny_model

from generate.core.denoise import Denoiser
from generate.core.guidance import guided, no_class
from generate.core.loading import load_model
from generate.core.sampling import generators, reverse_process, start_noise, to_uint8

CLASSES = 3


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_guided_frames_equal_a_plain_diffusers_loop(tmp_path, prediction):
    model = load_model(str(make_tiny_model(tmp_path / "m", channels=1, prediction_type=prediction, classes=CLASSES)))
    null = no_class(model.unet)
    assert null == CLASSES
    seeds, labels, scales = [0, 1, 2, 3], torch.tensor([0, 1, 2, 1]), torch.tensor([0.0, 1.0, 3.0, 7.5])
    shape = (1, model.sample_size, model.sample_size)

    def scheduler():
        s = DDIMScheduler.from_config(model.scheduler_config, timestep_spacing="trailing")
        s.set_timesteps(6)
        return s

    denoiser = Denoiser(model=model, max_batch=64)
    ours = reverse_process(
        guided(denoiser.denoise, labels, scales, null),
        scheduler(),
        start_noise(shape, generators(seeds), model.device, torch.float32),
        None,
        lambda i, step: None,
    )
    assert denoiser.calls == 6 and denoiser.images == 6 * 2 * len(seeds)  # one call per step, both branches

    plain = scheduler()  # diffusers' pipeline loop, one image and one branch per UNet call
    finals = []
    for i, seed in enumerate(seeds):
        x = start_noise(shape, generators([seed]), model.device, torch.float32)
        for t in plain.timesteps:
            with torch.no_grad():
                cond = model.unet(x, t, class_labels=labels[i : i + 1]).sample
                uncond = model.unet(x, t, class_labels=torch.tensor([null])).sample
            x = plain.step(uncond + scales[i] * (cond - uncond), t, x).prev_sample
        finals.append(x)
    difference = (to_uint8(ours).int() - to_uint8(torch.cat(finals)).int()).abs().max()
    assert difference <= 1  # batched against one at a time: float rounding, at most one 8-bit level
    # the scale matters: w = 0 is the unconditional path, w = 7.5 pulls far from it
    assert not torch.allclose(ours[2], ours[3])


def test_a_model_without_classes_cannot_be_guided(tmp_path):
    model = load_model(str(make_tiny_model(tmp_path / "m", channels=1)))
    with pytest.raises(ValueError, match="no class embedding"):
        no_class(model.unet)


def test_without_a_class_a_conditional_model_runs_on_its_no_class_label(tmp_path):
    """The lessons never pass a class: on a class-conditional model the denoiser then uses the "no
    class" label (the unconditional prediction), so every lesson runs on it. The live export takes the
    label as an input instead (live mode's worker gives it the "no class" label outside guidance).
    Without this, diffusers refuses the call ("class_labels should be provided")."""
    from generate.core.traced import UNetCall

    model = load_model(str(make_tiny_model(tmp_path / "m", channels=1, classes=CLASSES)))
    x = torch.randn(3, 1, model.sample_size, model.sample_size, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([999, 500, 10])
    null = torch.full((3,), no_class(model.unet))
    with torch.no_grad():
        expected = model.unet(x, t, class_labels=null).sample
        other = model.unet(x, t, class_labels=torch.zeros(3, dtype=torch.long)).sample
    ours = Denoiser(model=model, max_batch=8).denoise(x, t)
    assert torch.allclose(ours, expected, atol=1e-5) and not torch.allclose(ours, other, atol=1e-3)
    with torch.no_grad():
        assert torch.allclose(UNetCall(model.unet)(x, t, null), expected, atol=1e-5)


def _guidance_config(tmp_path, model: str, **section) -> "Config":  # noqa: F821
    from generate.precompute.config import load_config

    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in section.items()]
    path = tmp_path / "guidance.toml"
    path.write_text(
        f'version = 1\nmodels = ["{model}"]\nexperiments = ["guidance"]\n[guidance]\n' + "\n".join(lines) + "\n"
    )
    return load_config(str(path))


def test_the_guidance_experiment_draws_the_frames_of_a_plain_diffusers_loop(tmp_path):
    """The precomputed grid (every class x scale x seed in one batch per scale, both branches in one
    call) against diffusers' loop one image at a time, two UNet calls a step; and w = 0 ignores the
    label: the same picture for every class, byte for byte."""
    from generate.experiments.guidance import X0, X
    from generate.precompute import precompute
    from generate.site.runs import latest_runs

    folder = make_tiny_model(tmp_path / "m", channels=1, prediction_type="v_prediction", classes=CLASSES)
    scales, labels, seeds, steps = [0.0, 1.0, 4.0], [0, 2], [0, 5], 4
    config = _guidance_config(tmp_path, str(folder), scales=scales, classes=labels, seeds=seeds, steps=steps)
    precompute(config, tmp_path / "runs", progress=False, log=lambda *_: None)
    (run,) = latest_runs(tmp_path / "runs").values()
    assert run.manifest["axes"]["labels"] == labels and run.manifest["axes"]["classifier"] is None
    model = load_model(str(folder))
    null = no_class(model.unet)
    shape = (1, model.sample_size, model.sample_size)

    def frame(panel, **coords) -> np.ndarray:
        from site_support import frame_file

        return np.asarray(Image.open(run.folder / frame_file(run.manifest, panel.name, **coords)))

    for w in scales:
        for label in labels:
            for seed in seeds:
                plain = model.scheduler("ddim")  # diffusers' DDIMScheduler: trailing spacing, no clipping
                plain.set_timesteps(steps)
                x = start_noise(shape, generators([seed]), model.device, torch.float32)
                for i, t in enumerate(plain.timesteps):
                    with torch.no_grad():
                        cond = model.unet(x, t, class_labels=torch.tensor([label])).sample
                        uncond = model.unet(x, t, class_labels=torch.tensor([null])).sample
                    out = plain.step(uncond + w * (cond - uncond), t, x)
                    ours = frame(X0, label=label, scale=w, seed=seed, step=i).astype(int)
                    assert np.abs(ours - to_uint8(out.pred_original_sample)[0, ..., 0].numpy()).max() <= 1, (
                        w,
                        label,
                        seed,
                        i,
                    )
                    x = out.prev_sample
                final = frame(X, label=label, scale=w, seed=seed, step=steps).astype(int)
                assert np.abs(final - to_uint8(x)[0, ..., 0].numpy()).max() <= 1, (w, label, seed)
    for seed in seeds:  # w = 0: the label has no say
        assert np.array_equal(
            frame(X, label=0, scale=0.0, seed=seed, step=steps), frame(X, label=2, scale=0.0, seed=seed, step=steps)
        )
    assert not np.array_equal(
        frame(X, label=0, scale=4.0, seed=0, step=steps), frame(X, label=2, scale=4.0, seed=0, step=steps)
    )


def test_guidance_is_skipped_on_a_model_without_classes_and_an_error_where_asked_for(tmp_path):
    from generate.errors import UsageError
    from generate.precompute import precompute
    from generate.precompute.config import load_config

    plain = str(make_tiny_model(tmp_path / "plain", channels=1))
    said = []
    config = load_config("smoke")
    config.experiments = ["schedules", "guidance"]
    precompute(config, tmp_path / "runs", models=[plain], progress=False, log=said.append)
    assert any(line.startswith("guidance: skipped on") and "num_class_embeds" in line for line in said), said
    assert not list((tmp_path / "runs").glob("*/guidance*"))
    with pytest.raises(UsageError, match=r"--only guidance on .*no class embedding"):
        precompute(config, tmp_path / "runs", models=[plain], only=["guidance"], progress=False, log=said.append)
    with pytest.raises(UsageError, match=r"guidance\.models lists .*no class embedding"):
        precompute(
            _guidance_config(tmp_path, "fashion-32", models=[plain]), tmp_path / "r2", progress=False, log=said.append
        )
    conditional = str(make_tiny_model(tmp_path / "cond", channels=1, classes=CLASSES))
    with pytest.raises(
        UsageError, match=r"guidance\.classes = \[0, 3\]: class 3 is not one of .* 3 classes; allowed: 0 to 2"
    ):
        precompute(
            _guidance_config(tmp_path, conditional, classes=[0, 3]), tmp_path / "r3", progress=False, log=said.append
        )
