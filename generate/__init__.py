"""Noise to Image: precompute diffusion experiments and build the explainer site."""

__version__ = "0.1.0"
