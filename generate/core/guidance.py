"""Classifier-free guidance (Ho & Salimans 2022): one network, two predictions, one batched call.

Notation:
    c          the class label of an image; K (= num_class_embeds - 1) is "no class", the label that
               label dropout trained (generate/training/train.py)
    w          the guidance scale: 0 gives the unconditional prediction, 1 the conditional one, more
               than 1 pushes past it, away from the unconditional
    out(x, c)  the model's output (epsilon or v, as the model predicts)

    guided = out(x, K) + w * (out(x, c) - out(x, K))       the same line for epsilon and for v

Both branches of a batch go through the UNet together (the batch doubled: the conditional copies,
then the unconditional ones), so guidance costs one call per step, at twice the images; a batch all
at w = 1 or all at w = 0 needs one branch only, and gets it.
"""

from __future__ import annotations

from typing import Callable

import torch


def null_label(unet) -> int | None:
    """The "no class" label of a class-conditional UNet (its last class embedding), or None without classes."""
    classes = getattr(getattr(unet, "config", None), "num_class_embeds", None)
    return int(classes) - 1 if classes else None


def no_class(unet) -> int:
    """null_label, for code that needs one: an error for a UNet without classes."""
    null = null_label(unet)
    if null is None:
        raise ValueError("the model has no class embedding (num_class_embeds): it cannot be guided by class")
    return null


def guided(
    denoise: Callable[..., torch.Tensor], labels: torch.Tensor, scales: torch.Tensor, null: int
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A denoise(x, t) for the reverse process: each image guided towards its class `labels[i]` with
    scale `scales[i]`, both branches in one batched call of `denoise(x, t, class_labels=...)`."""
    labels, scales = labels.long(), scales.float()
    # w = 1 everywhere is the class prediction alone, w = 0 the "no class" one: one branch, half the images
    if bool((scales == 1).all()):
        return lambda x, t: denoise(x, t, class_labels=labels)
    if bool((scales == 0).all()):
        return lambda x, t: denoise(x, t, class_labels=torch.full_like(labels, null))

    def call(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        both = denoise(
            torch.cat([x, x]), torch.cat([t, t]), class_labels=torch.cat([labels, torch.full_like(labels, null)])
        )
        conditional, unconditional = both.chunk(2)
        w = scales.to(both.device).view(-1, *([1] * (x.dim() - 1)))
        return unconditional + w * (conditional - unconditional)

    return call
