"""Where the sampling timesteps sit (no torch: the run key and the site read it too)."""

# Every sampler starts where its start noise belongs: at the last training timestep (t = T - 1, where
# alpha_bar is about 0 and x_T is pure noise). diffusers' default, "leading", starts n steps at
# T - T/n instead (t = 900 for 10 of 1000), handing the model pure noise at a level where it expects
# some picture left: few-step runs then land on other pictures. Lin et al. 2023, "Common Diffusion
# Noise Schedules and Sample Steps are Flawed", Table 2. The step-count lesson shows "leading" on purpose.
SPACING = "trailing"
