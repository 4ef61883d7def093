"""Synthetic 2-D classification data sets, generated in torch from an explicit generator.

All points lie roughly within [-1, 1]², so one noise scale means the same on every data
set. Generation runs on the CPU: the same seed then gives the same data on any device.
"""

import math

import torch

DATASETS = ("spirals", "moons", "circles")


def class_count(name: str, arms: int) -> int:
    """Spirals have one class per arm; moons and circles always have two."""
    return arms if name == "spirals" else 2


def make_dataset(
    name: str, samples: int, arms: int, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffled points (samples, 2) float32 and labels (samples,) int64 on the CPU.

    ``samples`` is rounded down to a multiple of the class count so classes are balanced.
    """
    classes = class_count(name, arms)
    per_class = samples // classes
    labels = torch.arange(classes).repeat_interleave(per_class)
    if name == "spirals":
        points = _spirals(labels, per_class, classes)
    elif name == "moons":
        points = _moons(labels, per_class)
    else:
        points = _circles(labels, generator)
    points = points + noise * torch.randn(points.shape, generator=generator)
    order = torch.randperm(labels.numel(), generator=generator)
    return points[order].float(), labels[order]


def _spirals(labels: torch.Tensor, per_class: int, classes: int) -> torch.Tensor:
    """Arms winding one full turn out from the centre, evenly rotated apart."""
    radius = torch.linspace(0.1, 1.0, per_class).repeat(classes)
    angle = 2 * math.pi * (radius + labels / classes)
    return torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)


def _moons(labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """Two interleaved half circles, scaled from their usual [-1, 2] x [-0.5, 1] span."""
    angle = torch.linspace(0.0, math.pi, per_class).repeat(2)
    upper = labels == 0
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return torch.stack(((x - 0.5) / 1.5, (y - 0.25) / 1.5), dim=1)


def _circles(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A ring of radius 1 around a ring of radius 0.5."""
    angle = 2 * math.pi * torch.rand(labels.shape, generator=generator)
    radius = torch.where(labels == 0, 1.0, 0.5)
    return torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=1)
