"""Is a reconstruction "the same picture" as the original? The half of the answer that needs torch.

A pixel distance alone disagrees with the eye: on fashion-32 an ankle boot redrawn in the same pose
with other stitching lies as far from the original as a different shoe, and on emoji-32 another
emoji can lie nearer than the same one redrawn. So the page calls a reconstruction the same picture
when it MATCHES the original and lies within a distance bound (the site's facts, figure.py: a share
of the site-wide typical distance). What "matches" means depends on what the model ships:

    classifier  the model's small classifier (generate/core/quality.py, trained on the model's
                training data for its card) gives it the original's class. Used when the classifier
                is right on most held-out images (card.json's heldout_accuracy >= TRUSTED_ACCURACY):
                fashion-32's is right 84 % of the time over 10 classes.
    nearest     its nearest training image (pixel L2, quality.nearest) is the original's. Used where
                the classifier is weaker and the training set is on disk: emoji-32 learnt 136 emoji
                and redraws them, so "the same picture" is "the same emoji", while its classifier
                (42 % over 16 subcategories) tells a weary face from a relieved one no better than chance.

The training set counts as on disk only as the exact array the model was trained on: a `train.npy`
beside the model or in the prepared data folder its training.json names (`python -m generate
prepare-data`), whose sha256 equals training.json's data.arrays.train. Nothing is fetched: a model
without it is judged by its classifier, however weak (the page quotes the classifier's accuracy).

The precompute's "verdicts" unit (compute.py) records per start level the match of the
reconstruction and of the original; a model with neither a classifier nor its training set gets no
verdicts, and the page judges by distance alone and says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...paths import REPO  # prepared data folders are named relative to it (data/emoji)
from ...shipped import SHIPPED_DIR

CLASSIFIER_FILE = "classifier.safetensors"
TRAINING_FILE = "train.npy"
TRUSTED_ACCURACY = 0.5  # a classifier right on fewer held-out images than this does not judge alone


@dataclass(frozen=True)
class Judge:
    """How a model's reconstructions are matched to the original, described without torch (plan time)."""

    method: str  # "classifier" or "nearest"
    path: Path  # the classifier's weights, or the training set
    sha256: str
    class_names: list[str]
    heldout_accuracy: float | None  # the classifier's, from the model card: the baseline either way
    training_images: int | None = None

    def describe(self) -> dict:
        return {
            "method": self.method,
            "file": f"{self.path.parent.name}/{self.path.name}",
            "sha256": self.sha256,
            "classes": self.class_names,
            "heldout_accuracy": self.heldout_accuracy,
            "training_images": self.training_images,
        }


def model_folder(identity: dict) -> Path | None:
    """The folder a model was loaded from (shipped or local); None for a hub model."""
    if identity.get("source") == "shipped":
        return SHIPPED_DIR / identity["id"]
    if identity.get("source") == "local" and identity.get("path"):
        return Path(identity["path"])
    return None


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_set(folder: Path, training: dict) -> Path | None:
    """The model's exact training array, if it is on disk (beside the model, or in the prepared data
    folder its training.json names) and its sha256 is the one training.json recorded."""
    data = training.get("data", {})
    wanted = data.get("arrays", {}).get("train")
    if not wanted:
        return None
    places = [folder / TRAINING_FILE]
    if training.get("data_dir"):
        places.append(REPO / training["data_dir"] / TRAINING_FILE)
    return next((p for p in places if p.is_file() and _sha256(p) == wanted), None)


def _names_and_accuracy(folder: Path) -> tuple[list[str], float | None]:
    """The class names training.json records and the classifier's held-out accuracy from card.json."""
    names = _read_json(folder / "training.json").get("data", {}).get("class_names")
    accuracy = _read_json(folder / "card.json").get("classifier", {}).get("heldout_accuracy")
    return ([str(n) for n in names] if isinstance(names, list) else []), (
        float(accuracy) if accuracy is not None else None
    )


def find_judge(identity: dict) -> Judge | None:
    """The classifier where it is trusted, else the training set, else the classifier however weak;
    None when the model ships neither."""
    folder = model_folder(identity)
    if folder is None:
        return None
    classifier = find_classifier(identity)
    accuracy = classifier.heldout_accuracy if classifier else None
    if accuracy is None or accuracy < TRUSTED_ACCURACY:
        train = training_set(folder, _read_json(folder / "training.json"))
        if train is not None:
            names, accuracy = _names_and_accuracy(folder)
            count = int(np.load(train, mmap_mode="r").shape[0])
            return Judge("nearest", train, _sha256(train), names, accuracy, training_images=count)
    return classifier


def find_classifier(identity: dict) -> Judge | None:
    """The model's shipped classifier however accurate (the guidance lesson quotes its held-out
    accuracy beside every share it reports); None when the model ships none."""
    folder = model_folder(identity)
    if folder is None or not (folder / CLASSIFIER_FILE).is_file():
        return None
    path = folder / CLASSIFIER_FILE
    return Judge("classifier", path, _sha256(path), *_names_and_accuracy(folder))


def load_classifier(judge: Judge):
    """The FeatureNet of quality.py with the shipped weights, on the CPU, in eval mode."""
    from safetensors.torch import load_file

    from ...core.quality import FeatureNet

    state = load_file(str(judge.path))
    try:
        channels, classes = int(state["body.0.weight"].shape[1]), int(state["head.weight"].shape[0])
    except KeyError as missing:
        raise ValueError(f"{judge.path}: not a FeatureNet state dict (no {missing})") from None
    net = FeatureNet(channels, classes)
    net.load_state_dict(state)
    if judge.class_names and len(judge.class_names) != classes:
        raise ValueError(f"{judge.path}: {classes} classes, but training.json names {len(judge.class_names)}")
    return net.eval()


def classify(net, frames: np.ndarray) -> np.ndarray:
    """Class probabilities (N, classes) of uint8 (N, H, W, C) frames, as the page shows them."""
    import torch

    from ...core.quality import to_input

    with torch.no_grad():
        return net(to_input(frames)).softmax(dim=1).double().numpy()


def match(judge: Judge, frames: np.ndarray) -> list[dict]:
    """Per frame (uint8 (N, H, W, C)): what it matches ("match": a class or a training image's index)
    and the numbers behind it (the winning class's probability, or the RMS distance 0..255 to the
    nearest training image)."""
    if judge.method == "nearest":
        from ...core.quality import nearest

        train = np.load(judge.path)
        if train.shape[1:] != frames.shape[1:]:
            raise ValueError(f"{judge.path}: training images of shape {train.shape[1:]}, frames {frames.shape[1:]}")
        index, rms = nearest(frames, train)
        return [{"match": int(i), "nearest_rms": float(d)} for i, d in zip(index, rms)]
    probabilities = classify(load_classifier(judge), frames)
    return [
        {"match": int(p.argmax()), "probability": float(p.max()), "probabilities": [round(float(v), 6) for v in p]}
        for p in probabilities
    ]
