"""How every sampler of the site is set up, whatever the model's scheduler config says (no torch:
the run key and the site read it too)."""

# Every sampler starts where its start noise belongs: at the last training timestep (t = T - 1, where
# alpha_bar is about 0 and x_T is pure noise). diffusers' default, "leading", starts n steps at
# T - T/n instead (t = 900 for 10 of 1000), handing the model pure noise at a level where it expects
# some picture left: few-step runs then land on other pictures. Lin et al. 2023, "Common Diffusion
# Noise Schedules and Sample Steps are Flawed", Table 2. The step-count lesson shows "leading" on purpose.
SPACING = "trailing"

# No sampler clips its clean-image estimate x0 to [-1, 1] (diffusers' DDPM/DDIM do where the config says
# clip_sample = true): the samplers then follow the model's own ODE, so a 1000-step DDIM run is the one
# converged image every lesson compares with, and DPM-Solver++, Euler and Heun (which never clip) aim
# at the same picture. Frames are clipped to [-1, 1] only when they become 8-bit images.
CLIP_SAMPLE = False


def sampling_config(base: dict) -> dict:
    """The model's scheduler config as every sampler here uses it."""
    return dict(base, timestep_spacing=SPACING, clip_sample=CLIP_SAMPLE)
