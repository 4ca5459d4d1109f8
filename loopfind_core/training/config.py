"""What determines a training run: :class:`TrainConfig`, its losses and augmentations."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from loopfind_core.base.errors import ConfigurationError
from loopfind_core.features.encoder import (
    EncoderConfig,
)

LOSSES = ("byol", "ae", "nce")
DEFAULT_LOSSES = ("byol", "ae")  # the paper's; "nce" (contrastive, in-batch negatives) is opt-in
AUGMENTATIONS = ("noise", "drop", "shift", "hpss", "mix", "gain", "eq", "repeat", "stems",
                 "stemrep")
STEM_AUGMENTATIONS = ("stems", "stemrep")  # those that need a stems folder
CONTRASTIVE_ON = ("encoder", "projector")
PAPER_AUGMENTATIONS = ("noise", "drop", "shift", "hpss")
AE_INPUTS = ("clean", "view")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run."""

    iters: int = 1000  # optimiser steps (paper: 1000)
    batch: int = 256  # excerpts per step, over all ranks (paper: 256)
    excerpt_frames: int = 64  # frames per excerpt: 1.5 s at 43 frames/s
    learning_rate: float = 1e-3  # Adam
    ema: float = 0.99  # α of Eq. 2
    ae_weight: float = 1.0  # λ
    losses: tuple[str, ...] = DEFAULT_LOSSES
    augmentations: tuple[str, ...] = PAPER_AUGMENTATIONS
    ae_input: str = "clean"  # "clean": D(E(x)) ≈ x (paper); "view": D(E(view)) ≈ x (denoising)
    noise_std: float = 0.3  # σ of the noise augmentation, in standard deviations
    drop_fraction: float = 0.2  # share of mel bins the drop augmentation zeroes
    max_shift_bins: int = 4  # transposition range of the shift augmentation, ± bins
    mix_gain_db: tuple[float, float] = (-12.0, 0.0)  # level of the mixed-in excerpt vs x
    gain_db: float = 6.0  # ± level change of the gain augmentation
    eq_tilt_db: float = 6.0  # ± tilt of the eq augmentation, from the lowest to the highest bin
    repeat_share: float = 0.5  # share of each batch whose view 2 is a mined repetition
    repeat_max_distance: float = 0.5  # a repetition's distance / the track's median distance
    temperature: float = 0.1  # τ of the contrastive (NT-Xent) loss
    contrastive_frames: int = 0  # segment length of "nce" items in frames (0: whole excerpt)
    contrastive_on: str = "encoder"  # what "nce" compares: E (what the search uses) or P(E)
    stems_share: float = 0.75  # share of each batch made of stem views (with "stems")
    stems_single: float = 0.0  # share of stem views whose sound is a single stem
    stems_backing_db: tuple[float, float] = (-6.0, 3.0)  # new backing's level vs the old one's
    stems_other_song: float = 0.5  # share of stem views whose backing is another song's mix (else
    #                                the song's own other stems, at another time)
    seed: int = 0
    save_every: int = 100  # iterations between resumable saves
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def check(self) -> None:
        """Refuse a configuration no run can use.

        Raises:
            ConfigurationError: naming the first bad field, its value and what is allowed.
        """
        unknown = [x for x in self.losses if x not in LOSSES]
        unknown += [x for x in self.augmentations if x not in AUGMENTATIONS]
        if unknown:
            raise ConfigurationError(
                f"Unknown loss or augmentation {', '.join(unknown)}; losses: "
                f"{', '.join(LOSSES)}; augmentations: {', '.join(AUGMENTATIONS)}."
            )
        if self.ae_input not in AE_INPUTS:
            raise ConfigurationError(
                f"ae_input must be one of {', '.join(AE_INPUTS)}, not {self.ae_input!r}.")
        if self.contrastive_on not in CONTRASTIVE_ON:
            raise ConfigurationError(f"contrastive_on must be one of {', '.join(CONTRASTIVE_ON)}, "
                                     f"not {self.contrastive_on!r}.")
        for name, allowed, ok in (
            ("iters", "≥ 0", self.iters >= 0),
            ("batch", "≥ 1", self.batch >= 1),
            ("excerpt_frames", "≥ 8", self.excerpt_frames >= 8),
            ("ema", "in [0, 1)", 0.0 <= self.ema < 1.0),
            ("repeat_share", "in [0, 1]", 0.0 <= self.repeat_share <= 1.0),
            ("stems_share", "in [0, 1]", 0.0 <= self.stems_share <= 1.0),
            ("stems_other_song", "in [0, 1]", 0.0 <= self.stems_other_song <= 1.0),
            ("stems_single", "in [0, 1]", 0.0 <= self.stems_single <= 1.0),
            ("temperature", "> 0", self.temperature > 0.0),
        ):
            if not ok:
                raise ConfigurationError(f"{name} must be {allowed}, not {getattr(self, name)!r}.")


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    """A copy of ``config`` with some fields changed (``encoder`` fields by name too)."""
    encoder_fields = {k: changes.pop(k) for k in list(changes) if hasattr(config.encoder, k)}
    if encoder_fields:
        changes["encoder"] = replace(config.encoder, **encoder_fields)
    return replace(config, **changes)
