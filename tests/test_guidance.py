"""Classifier-free guidance (generate/core/guidance.py) against a plain diffusers loop: the guided
reverse process, both branches in one batched call, makes the frames of two separate UNet calls per
step combined by hand, for epsilon and v models, at several scales in one batch."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler
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
    class" label (the unconditional prediction), so every lesson runs on it; the live export does the
    same. Without this, diffusers refuses the call ("class_labels should be provided")."""
    from generate.experiments.live.compute import _Unet

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
        assert torch.allclose(_Unet(model.unet)(x, t), expected, atol=1e-5)
