"""`python -m generate card NAME`: measure a shipped model and write its model card.

Writes into generate/models/NAME/: README.md (the card, also a page of the site), card.json (the
numbers), samples.png, nearest.png, loss.svg and classifier.safetensors (the feature network, so the
figure can be measured again).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ..atomic import write_bytes_atomic, write_json_atomic
from ..core.denoise import Denoiser
from ..core.guidance import guided, no_class
from ..core.loading import load_model
from ..core.quality import accuracy, features, frechet_distance, nearest, noise_images, principal_axes, train_classifier
from ..core.sampling import generators, reverse_process, start_noise, to_uint8
from ..shipped import SHIPPED_DIR
from ..toolkit.png import encode_png
from .data import load_prepared

SAMPLE_STEPS = 50  # DDIM steps for the card's samples (the site's figures use 50 too)
# A class-conditional model's card also samples each class: at w = 1 (the conditional prediction
# alone) and at w = 3 (guided past it), PER_CLASS seeds each, and the classifier says how many land
# in the class asked for.
CARD_SCALES = (1.0, 3.0)
PER_CLASS = 16


def sample(
    model, count: int, seed0: int = 0, batch: int = 128, label: int | None = None, scale: float = 1.0
) -> np.ndarray:
    """`count` DDIM samples, seed i = seed0 + i (the pipelines' seeds), as uint8 (N, H, W, C).
    A class-conditional model samples its "no class" label unless `label` is given (the Denoiser's
    default); then each image is guided towards `label` with scale `scale` (both branches in one
    call: core/guidance.py)."""
    context = Denoiser(model=model, max_batch=batch)
    shape = (model.channels, model.sample_size, model.sample_size)
    out = []
    for start in range(0, count, batch):
        seeds = list(range(seed0 + start, seed0 + min(count, start + batch)))
        n = len(seeds)
        denoise = context.denoise
        if label is not None:
            denoise = guided(denoise, torch.full((n,), label), torch.full((n,), scale), no_class(model.unet))
        scheduler = model.scheduler("ddim")
        scheduler.set_timesteps(SAMPLE_STEPS)
        x = start_noise(shape, generators(seeds), model.device, torch.float32)
        with torch.no_grad():
            x = reverse_process(denoise, scheduler, x, None, lambda i, s: None)
        out.append(to_uint8(x).numpy())
    return np.concatenate(out)


def per_class(model, net, names: list[str], log=print) -> tuple[dict, np.ndarray]:
    """Each class sampled at each of CARD_SCALES (seeds 0 to PER_CLASS - 1), and the share of the
    samples the classifier puts in the class asked for; and a grid: one row per class, at the last scale."""
    measured, rows = {}, []
    for scale in CARD_SCALES:
        hits = []
        for label, name in enumerate(names):
            images = sample(model, PER_CLASS, label=label, scale=scale)
            hits.append(accuracy(net, images, np.full(len(images), label)))
            if scale == CARD_SCALES[-1]:
                rows.append(images[:8])
            log(f"w = {scale}: {name} {hits[-1]:.0%}")
        measured[str(scale)] = {"per_class": dict(zip(names, hits)), "mean": float(np.mean(hits))}
    return measured, np.concatenate(rows)


def grid(images: np.ndarray, columns: int, scale: int = 2, gap: int = 2) -> np.ndarray:
    """Tile (N, H, W, C) uint8 images on a white background, each upscaled `scale` times."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    big = images.repeat(scale, 1).repeat(scale, 2)
    canvas = np.full((rows * (h * scale + gap) + gap, columns * (w * scale + gap) + gap, c), 255, np.uint8)
    for i, img in enumerate(big):
        r, k = divmod(i, columns)
        y, x = gap + r * (h * scale + gap), gap + k * (w * scale + gap)
        canvas[y : y + h * scale, x : x + w * scale] = img
    return canvas


def loss_svg(csv: str, width: int = 480, height: int = 200) -> str:
    rows = [line.split(",") for line in csv.strip().splitlines()[1:]]
    steps, losses = np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])
    top = float(np.quantile(losses, 0.98)) * 1.05
    xs = 40 + (width - 50) * steps / steps.max()
    ys = height - 25 - (height - 35) * np.clip(losses / top, 0, 1)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Training loss from {losses[0]:.3f} to {losses[-1]:.3f} over {int(steps.max())} steps">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<polyline fill="none" stroke="#3f51b5" stroke-width="1.5" points="{points}"/>'
        f'<line x1="40" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" stroke="#555"/>'
        f'<line x1="40" y1="10" x2="40" y2="{height - 25}" stroke="#555"/>'
        f'<text x="40" y="{height - 8}" font-size="11" fill="#333">0</text>'
        f'<text x="{width - 10}" y="{height - 8}" font-size="11" text-anchor="end" fill="#333">'
        f"{int(steps.max())} steps</text>"
        f'<text x="36" y="16" font-size="11" text-anchor="end" fill="#333">{top:.2f}</text>'
        f'<text x="36" y="{height - 25}" font-size="11" text-anchor="end" fill="#333">0</text></svg>\n'
    )


def make_card(name: str, data_dir: Path, classifier_steps: int, reference_count: int = 500, log=print) -> dict:
    folder = SHIPPED_DIR / name
    started = time.time()
    model = load_model(name, device="cpu", dtype="float32")
    train, source = load_prepared(data_dir, "train")
    heldout, _ = load_prepared(data_dir, "heldout")
    train_labels, heldout_labels = np.load(data_dir / "train_labels.npy"), np.load(data_dir / "heldout_labels.npy")
    classes = len(source["class_names"])

    net = train_classifier(train, train_labels, classes, classifier_steps, log=log)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, folder / "classifier.safetensors")
    held_accuracy = accuracy(net, heldout, heldout_labels)

    # Equal set sizes everywhere: FD is biased by the sample count, so only equal counts compare.
    count = min(reference_count, len(heldout) // 2) if len(heldout) >= 2 * reference_count else len(heldout)
    real_a = heldout[:count]
    if len(heldout) >= 2 * count:
        real_b, real_b_name = heldout[len(heldout) // 2 : len(heldout) // 2 + count], "held-out images (second half)"
    else:  # too few held out: a seeded random draw of training images (not the first ones: sorted by kind)
        pick = np.random.default_rng(0).choice(len(train), count, replace=False)
        real_b, real_b_name = train[np.sort(pick)], "training images (random draw)"
    samples = sample(model, count)
    noise = noise_images(count, (model.channels, model.sample_size, model.sample_size))
    feats = {
        key: features(net, images)
        for key, images in (("real_a", real_a), ("real_b", real_b), ("samples", samples), ("noise", noise))
    }
    # A 64 x 64 covariance from a few dozen images is mostly noise: below 4 images per dimension,
    # measure in the leading principal axes of the real features instead.
    dims = min(64, count // 4)
    if dims < 64:
        basis = principal_axes(feats["real_a"], dims)
        feats = {key: value @ basis for key, value in feats.items()}
    fd = {
        "model_samples": frechet_distance(feats["samples"], feats["real_a"]),
        "real_vs_real": frechet_distance(feats["real_b"], feats["real_a"]),
        "noise": frechet_distance(feats["noise"], feats["real_a"]),
    }

    shown = samples[:32]
    index, distance = nearest(shown, train)
    write_bytes_atomic(folder / "samples.png", encode_png(grid(shown, 8)))
    write_bytes_atomic(folder / "nearest.png", encode_png(grid(train[index], 8)))
    write_bytes_atomic(folder / "loss.svg", loss_svg((folder / "loss.csv").read_text()).encode())
    training = json.loads((folder / "training.json").read_text())
    conditional = bool(getattr(model.unet.config, "num_class_embeds", None))
    if conditional:
        guidance, rows = per_class(model, net, list(source["class_names"]), log=log)
        write_bytes_atomic(folder / "classes.png", encode_png(grid(rows, 8)))
    record = {
        "model": name,
        "fd": fd,
        "count": count,
        "real_b": real_b_name,
        "classifier": {
            "steps": classifier_steps,
            "heldout_accuracy": held_accuracy,
            "feature_dim": dims,
            "classes": classes,
        },
        "nearest_rms_distance": [round(float(d), 2) for d in distance],
        "sample_steps": SAMPLE_STEPS,
        "seconds": round(time.time() - started, 1),
    }
    if conditional:
        record["classes"] = {"names": list(source["class_names"]), "per_class": PER_CLASS, "accuracy": guidance}
    write_json_atomic(folder / "card.json", record)
    write_bytes_atomic(folder / "README.md", render_card(name, training, record).encode())
    log(json.dumps(fd))
    return record


def render_card(name: str, training: dict, card: dict) -> str:
    t, data, fd = training["train"], training["data"], card["fd"]
    minutes = training["seconds"] / 60
    dims = card["classifier"]["feature_dim"]
    space = (
        "the 64-dimensional features"
        if dims == 64
        else f"the {dims} leading principal axes of the 64-dimensional features (only {card['count']} "
        "held-out images exist, too few to estimate a 64 x 64 covariance)"
    )
    where = training.get("where", "on a 2-core CPU (no GPU)")
    return f"""# Model card: `{name}`

A small diffusion model trained by this project so that the explainer works offline on a CPU.
Load it by name: `python -m generate precompute --model {name}`.

## Data

- **Source**: {data["name"]} ({data["package"]}), licence: {data["licence"]}.
- **Preparation**: {data["transform"]}.
- **Images**: {training["images"]} training images of {training["sample_size"]} x {training["sample_size"]} px,
  {training["channels"]} channel(s). Checksums of the source files and arrays are in `training.json`.

## Training

| setting | value |
|---|---|
| architecture | diffusers `UNet2DModel`, channels {tuple(t["block_out_channels"])}, {
        t["layers_per_block"]
    } layer(s) per block, self-attention at level(s) {tuple(t["attention_levels"])}, {
        training["parameters"]:,} parameters |
| schedule | `DDPMScheduler`, {t["num_train_timesteps"]} timesteps, `{t["beta_schedule"]}`, prediction `{
        t["prediction_type"]
    }` |
| optimiser | AdamW, learning rate {t["learning_rate"]} (warm-up {t["warmup_steps"]} steps), batch {
        t["batch_size"]
    }, gradient clip {t["grad_clip"]} |
| EMA | decay {t["ema_decay"]} (the shipped weights are the EMA weights) |
| steps | {training["steps_done"]} |
| time | {minutes:.0f} minutes {where} |
| seed | {t["seed"]}, horizontal flips {"on" if t["hflip"] else "off"} |

Retrain with `python -m generate train --data data/<set> --out generate/models/{name} --checkpoints
checkpoints/{name} --settings generate/models/settings/{name}.json --steps {training["steps_done"]}`
(`--resume` continues exactly after an interruption).

![Training loss](loss.svg)

*Training loss (mean per 50 steps).*

## Samples

![Samples of {name}](samples.png)

*32 samples, DDIM with {card["sample_steps"]} steps, seeds 0 to 31{
        ', with the "no class" label (the unconditional prediction)' if "classes" in card else ""
    }.*
{classes_section(card)}
![Nearest training images](nearest.png)

*For each sample above, in the same place, its nearest training image (pixel L2). RMS distances per pixel
(0 to 255): median {np.median(card["nearest_rms_distance"]):.1f}, smallest {min(card["nearest_rms_distance"]):.1f}.
Small distances mean a memorised training image; larger ones a new image.*

## Quality figure

Frechet distance in {space} of a small classifier trained on the same data
({card["classifier"]["classes"]} classes, held-out accuracy {card["classifier"]["heldout_accuracy"]:.1%}),
each set {card["count"]} images, measured against {card["count"]} held-out real images. Lower is closer
to real data; the number only means something next to its references.

| image set | Frechet distance |
|---|---|
| real {card["real_b"]} (the floor) | {fd["real_vs_real"]:.2f} |
| **samples of `{name}`** | **{fd["model_samples"]:.2f}** |
| Gaussian noise images (the ceiling) | {fd["noise"]:.2f} |
{floor_note(fd)}"""


def classes_section(card: dict) -> str:
    """A class-conditional model's classes: a row of samples per class, and how often the classifier
    finds the class asked for, per class, at each guidance scale."""
    if "classes" not in card:
        return ""
    c = card["classes"]
    scales = list(c["accuracy"])
    head = "| class | " + " | ".join(f"w = {float(w):g}" for w in scales) + " |"
    lines = [head, "|---|" + "---|" * len(scales)]
    for name in c["names"]:
        lines.append(f"| {name} | " + " | ".join(f"{c['accuracy'][w]['per_class'][name]:.0%}" for w in scales) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{c['accuracy'][w]['mean']:.0%}**" for w in scales) + " |")
    table = "\n".join(lines)
    return f"""
![One row per class]({"classes.png"})

*One row per class ({", ".join(c["names"])}, top to bottom), 8 seeds each, guided with w = {float(scales[-1]):g}:
ε̂ = ε̂(∅) + w (ε̂(c) − ε̂(∅)), DDIM with {card["sample_steps"]} steps.*

How often the classifier below finds the class that was asked for, {c["per_class"]} samples per class
(seeds 0 to {c["per_class"] - 1}); w = 1 is the conditional prediction alone, larger w pushes past it.
The classifier is right on {card["classifier"]["heldout_accuracy"]:.0%} of held-out real images, so a share
says how recognisable the samples are to it, not how right they are:

{table}
"""


def floor_note(fd: dict) -> str:
    """A score at or under the floor (real images against real images) does not say the samples are as
    good as real ones: only that this small feature space cannot tell them apart."""
    if fd["model_samples"] > fd["real_vs_real"] * 1.1:
        return ""
    return (
        "\nThe samples score at the floor: in these features they cannot be told from real images. That "
        "says more about the features (a small classifier's) than about the samples; the grid above shows "
        "what the eye still sees.\n"
    )
