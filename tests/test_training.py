"""Training and data preparation on tiny data; the shipped models load by name and sample."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from generate.cli import main
from generate.core.loading import load_model
from generate.shipped import SHIPPED_DIR as SHIPPED
from generate.shipped import shipped_models
from generate.training.data import load_prepared, prepare_emoji, prepare_fashion, save_prepared
from generate.training.train import TrainConfig, train

TINY = dict(
    block_out_channels=(8, 16),
    attention_levels=(1,),
    norm_num_groups=4,
    batch_size=4,
    checkpoint_every=3,
    warmup_steps=2,
)


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fashion_dir(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("t10k", 6)):
        (tmp_path / f"{split}-images-idx3-ubyte.gz").write_bytes(_idx(rng.integers(0, 256, (count, 28, 28))))
        (tmp_path / f"{split}-labels-idx1-ubyte.gz").write_bytes(_idx(rng.integers(0, 10, (count,))))
    return tmp_path


def test_fashion_preparation_pads_to_32_and_records_checksums(fashion_dir, tmp_path):
    prepared = prepare_fashion(fashion_dir)
    assert prepared.train.shape == (12, 32, 32, 1) and prepared.heldout.shape == (6, 32, 32, 1)
    raw = np.frombuffer(gzip.decompress((fashion_dir / "train-images-idx3-ubyte.gz").read_bytes())[16:], np.uint8)
    assert np.array_equal(prepared.train[:, 2:30, 2:30, 0], raw.reshape(12, 28, 28))
    assert prepared.train[:, :2].max() == 0 and prepared.train[:, :, 30:].max() == 0
    record = save_prepared(prepared, tmp_path / "out")
    images, source = load_prepared(tmp_path / "out")
    assert np.array_equal(images, prepared.train) and source["licence"].startswith("MIT")
    assert len(record["files"]["train_images"]["sha256"]) == 64


def test_emoji_preparation_composites_on_white_and_filters_the_category(tmp_path):
    tarball = tmp_path / "emoji.tgz"
    entries = []
    with tarfile.open(tarball, "w:gz") as archive:
        for i, (category, colour) in enumerate(
            [
                ("Smileys & Emotion", (255, 200, 0, 255)),
                ("Smileys & Emotion", (255, 0, 0, 0)),
                ("Flags", (0, 0, 255, 255)),
            ]
        ):
            buffer = io.BytesIO()
            Image.new("RGBA", (64, 64), colour).save(buffer, format="PNG")
            info = tarfile.TarInfo(f"package/img/google/64/{i}.png")
            info.size = len(buffer.getvalue())
            archive.addfile(info, io.BytesIO(buffer.getvalue()))
            entries.append(
                {
                    "image": f"{i}.png",
                    "category": category,
                    "subcategory": f"sub{i}",
                    "sort_order": i,
                    "has_img_google": True,
                }
            )
        meta = json.dumps(entries).encode()
        info = tarfile.TarInfo("package/emoji.json")
        info.size = len(meta)
        archive.addfile(info, io.BytesIO(meta))
    prepared = prepare_emoji(tarball, heldout_every=2)
    assert prepared.train.shape == (1, 32, 32, 3) and prepared.heldout.shape == (1, 32, 32, 3)
    assert tuple(prepared.train[0, 16, 16]) == (255, 200, 0)
    assert tuple(prepared.heldout[0, 16, 16]) == (255, 255, 255)  # transparent -> white background


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "diffusion_pytorch_model.safetensors")


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "class-conditional"])
def test_checkpoint_and_resume_give_the_same_weights(fashion_dir, tmp_path, conditional):
    save_prepared(prepare_fashion(fashion_dir), tmp_path / "data")
    log = lambda *a: None
    tiny = dict(TINY, class_conditional=conditional, class_dropout=0.5)
    train(tmp_path / "data", tmp_path / "straight", tmp_path / "ck-straight", TrainConfig(steps=6, **tiny), log=log)
    train(tmp_path / "data", tmp_path / "resumed", tmp_path / "ck-resumed", TrainConfig(steps=3, **tiny), log=log)
    train(
        tmp_path / "data",
        tmp_path / "resumed",
        tmp_path / "ck-resumed",
        TrainConfig(steps=6, **tiny),
        resume=True,
        log=log,
    )
    straight, resumed = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    settings = json.loads((tmp_path / "resumed" / "training.json").read_text())
    assert settings["steps_done"] == 6 and settings["train"]["prediction_type"] == "v_prediction"
    assert (tmp_path / "resumed" / "scheduler_config.json").is_file()
    config = json.loads((tmp_path / "resumed" / "config.json").read_text())
    classes = len(prepare_fashion(fashion_dir).class_names)
    # conditional: one embedding row per class plus the "no class" label that label dropout trains
    assert config["num_class_embeds"] == (classes + 1 if conditional else None)
    assert ("class_embedding.weight" in straight) == conditional
    if conditional:
        assert straight["class_embedding.weight"].shape[0] == classes + 1 and settings["classes"] == classes


def test_device_cpu_trains_the_same_weights_as_the_default_and_resumes_under_either(fashion_dir, tmp_path, monkeypatch):
    """--device cpu through the CLI against the default (auto, here without CUDA whatever the machine
    has): the same run bit for bit, and a checkpoint made on one device resumes under the other."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    save_prepared(prepare_fashion(fashion_dir), tmp_path / "data")
    train(
        tmp_path / "data",
        tmp_path / "default",
        tmp_path / "ck-default",
        TrainConfig(steps=4, **TINY),
        log=lambda line: None,
    )
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    common = ["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "cpu"), "--settings"]
    common += [str(tmp_path / "tiny.json"), "--checkpoints", str(tmp_path / "ck-cpu")]
    assert main([*common, "--steps", "2", "--device", "cpu"]) == 0
    assert main([*common, "--steps", "4", "--resume"]) == 0  # the default device now: not a changed setting
    default, cpu = _weights(tmp_path / "default"), _weights(tmp_path / "cpu")
    assert default.keys() == cpu.keys() and all(torch.equal(default[k], cpu[k]) for k in default)
    settings = json.loads((tmp_path / "cpu" / "training.json").read_text())
    assert settings["devices"] == ["cpu"] and settings["train"]["device"] == "auto" and settings["steps_done"] == 4


ALLOWED = "allowed: auto, cpu, cuda, cuda:N"


@pytest.mark.parametrize(
    "device,gpus,message",
    [
        ("tpu", 0, f"--device 'tpu': {ALLOWED}"),
        ("mps", 0, f"--device 'mps': {ALLOWED}"),
        ("cuda", 0, "--device cuda: CUDA is not available on this machine; use cpu or auto"),
        ("cuda:7", 2, f"--device cuda:7: this machine has 2 CUDA device(s); {ALLOWED} with N < 2"),
    ],
)
def test_a_bad_training_device_is_a_one_line_usage_error(tmp_path, monkeypatch, capsys, device, gpus, message):
    """Refused before the data is read (the data folder does not exist); no GPU needed: CUDA's answers are faked."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    folders = ["--data", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--checkpoints", str(tmp_path)]
    assert main(["train", *folders, "--device", device]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


@pytest.mark.parametrize("name,channels", [("fashion-32", 1), ("emoji-32", 3), ("fashion-cond-32", 1)])
def test_shipped_models_load_by_name_and_sample(name, channels):
    if name not in shipped_models():
        pytest.fail(f"shipped model {name} is missing from generate/models")
    from generate.training.card import sample

    model = load_model(name, device="cpu")
    assert model.channels == channels and model.sample_size == 32
    weights = Path(__file__).resolve().parents[1] / "generate" / "models" / name / "diffusion_pytorch_model.safetensors"
    assert weights.stat().st_size <= 20 * 1024 * 1024
    images = sample(model, 2)
    assert images.shape == (2, 32, 32, channels) and images.dtype == np.uint8
    assert images.std() > 10  # not a flat image


def test_the_shipped_conditional_model_has_its_classes_and_no_class_label():
    """fashion-cond-32 (issue 27's class-conditional model): ten class embeddings and the "no class"
    label that label dropout trained, its card's classes. That its samples are the class asked for,
    and more so as the guidance scale grows, is the guidance lesson's claim, checked on its default
    run with the shipped classifier at every scale (tests/test_claims_guidance.py)."""
    from generate.core.guidance import no_class

    model = load_model("fashion-cond-32", device="cpu")
    names = json.loads((SHIPPED / "fashion-cond-32" / "training.json").read_text())["data"]["class_names"]
    assert no_class(model.unet) == len(names) == 10
    card = json.loads((SHIPPED / "fashion-cond-32" / "card.json").read_text())
    assert card["classes"]["names"] == names
    assert card["classes"]["accuracy"]["3.0"]["mean"] >= card["classes"]["accuracy"]["1.0"]["mean"]
