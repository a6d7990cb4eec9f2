"""The diffusion core (needs torch and diffusers): load a UNet2DModel and its scheduler, run the
batched reverse process, and measure what comes out. Knows nothing of runs, manifests or the site."""
