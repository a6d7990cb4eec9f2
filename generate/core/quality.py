"""Quality figure for the shipped models: a Frechet distance in the features of a small classifier.

FID (Heusel et al. 2017) compares Gaussians fitted to Inception features of two image sets:
    FD = |mu_1 - mu_2|^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1^1/2 S_2 S_1^1/2)^1/2)
Inception cannot be downloaded here and knows nothing of 32-px clothes, so the features are the
penultimate layer of a small CNN trained to classify the same data (Fashion-MNIST classes, emoji
subcategories). The number is only meaningful next to its references, which the card shows:
real held-out images against other real images (the floor) and noise images (the ceiling).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .sampling import from_uint8


class FeatureNet(nn.Module):
    """Three conv blocks -> a `dim`-wide feature vector -> class logits."""

    def __init__(self, channels: int, classes: int, dim: int = 64):
        super().__init__()
        block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.SiLU()]
        self.body = nn.Sequential(
            *block(channels, 32),
            nn.MaxPool2d(2),
            *block(32, 64),
            nn.MaxPool2d(2),
            *block(64, 128),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(128, dim),
            nn.SiLU(),
        )
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float (N, C, H, W) in [-1, 1]."""
    return from_uint8(images)


def train_classifier(
    images: np.ndarray, labels: np.ndarray, classes: int, steps: int, seed: int = 0, batch: int = 128, log=print
) -> FeatureNet:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = FeatureNet(images.shape[-1], classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    data, targets = to_input(images), torch.from_numpy(labels)
    for step in range(steps):
        index = torch.randint(0, len(data), (batch,), generator=generator)
        x = data[index]
        flip = torch.rand(batch, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        loss = nn.functional.cross_entropy(net(x), targets[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % 100 == 0:
            log(f"classifier step {step + 1}/{steps} loss {float(loss):.3f}")
    return net.eval()


@torch.no_grad()
def features(net: FeatureNet, images: np.ndarray, batch: int = 512) -> np.ndarray:
    data = to_input(images)
    return torch.cat([net.body(data[i : i + batch]) for i in range(0, len(data), batch)]).double().numpy()


@torch.no_grad()
def accuracy(net: FeatureNet, images: np.ndarray, labels: np.ndarray) -> float:
    data = to_input(images)
    predicted = torch.cat([net(data[i : i + 512]).argmax(1) for i in range(0, len(data), 512)])
    return float((predicted.numpy() == labels).mean())


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FD between Gaussians fitted to two feature sets (rows are samples)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrtm_psd(cov_a)
    middle = np.linalg.eigvalsh((root_a @ cov_b @ root_a + (root_a @ cov_b @ root_a).T) / 2)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def principal_axes(reference: np.ndarray, dims: int) -> np.ndarray:
    """The `dims` leading principal axes of a feature set, as columns: a basis to project onto when
    there are too few images to estimate a full covariance (a d x d covariance needs well over d)."""
    centred = reference - reference.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:dims].T


def noise_images(count: int, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Gaussian noise shown as images (the [-1, 1] -> 8-bit mapping of the samples)."""
    noise = torch.randn((count, *shape), generator=torch.Generator().manual_seed(seed))
    return ((noise / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def nearest(samples: np.ndarray, training: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Index of and L2 pixel distance (per pixel RMS, 0..255) to each sample's nearest training image."""
    flat = samples.reshape(len(samples), -1).astype(np.float32)
    best_d = np.full(len(samples), np.inf, np.float32)
    best_i = np.zeros(len(samples), np.int64)
    for start in range(0, len(training), chunk):
        block = training[start : start + chunk].reshape(-1, flat.shape[1]).astype(np.float32)
        d = (flat**2).sum(1)[:, None] - 2 * flat @ block.T + (block**2).sum(1)[None]
        i = d.argmin(1)
        better = d[np.arange(len(flat)), i] < best_d
        best_d[better] = d[np.arange(len(flat)), i][better]
        best_i[better] = i[better] + start
    return best_i, np.sqrt(np.clip(best_d, 0, None) / flat.shape[1])
