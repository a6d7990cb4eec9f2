"""Training the shipped models (needs torch): prepare a data set from a package, train a UNet2DModel
with its scheduler, measure sample quality, and write the model card the site shows."""
