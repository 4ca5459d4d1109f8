"""The networks trained together: encoder, decoder, projector, predictor (paper §III-D), the
BYOL loss with its moving-average target, and a contrastive loss with in-batch negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from loopfind_core.features.encoder import (
    Encoder,
    EncoderConfig,
    head,
)

# ----- the networks and the loss -----------------------------------------------------------


class Learner(nn.Module):
    """The online networks: encoder E, decoder D, projector P, predictor Pr."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.encoder = Encoder(config)
        self.decoder = head(config, config.n_mels)
        self.projector = head(config, config.channels)
        self.predictor = head(config, config.channels)

    def forward(self, clean, view1, view2, target_encoder, target_projector, config):
        """Returns (total loss, {name: value}); inputs are standardised (batch, mels, frames)."""
        parts: dict[str, torch.Tensor] = {}
        encoded: dict[int, torch.Tensor] = {}

        def encode(x: torch.Tensor) -> torch.Tensor:  # E of each view once, whatever uses it
            if id(x) not in encoded:
                encoded[id(x)] = self.encoder(x)
            return encoded[id(x)]

        if "byol" in config.losses:
            online1 = self.predictor(self.projector(encode(view1)))
            online2 = self.predictor(self.projector(encode(view2)))
            with torch.no_grad():
                target1 = target_projector(target_encoder(view1))
                target2 = target_projector(target_encoder(view2))
            parts["byol"] = byol_loss(online1, target2) + byol_loss(online2, target1)
        if "nce" in config.losses:
            embed = encode if config.contrastive_on == "encoder" else (
                lambda x: self.projector(encode(x)))
            parts["nce"] = nt_xent_loss(
                *(segments(embed(v), config.contrastive_frames) for v in (view1, view2)),
                config.temperature)
        if "ae" in config.losses:
            source = view1 if config.ae_input == "view" else clean
            parts["ae"] = F.mse_loss(self.decoder(encode(source)), clean)
        total = (parts.get("byol", 0.0) + parts.get("nce", 0.0)
                 + config.ae_weight * parts.get("ae", 0.0))
        return total, parts

    def unused_heads(self, losses: tuple[str, ...], contrastive_on: str = "encoder"
                     ) -> list[nn.Module]:
        """The heads no loss in ``losses`` reaches: the decoder without ``ae``, the predictor
        without ``byol``, the projector without ``byol`` or ``nce`` on the projector."""
        unused = [] if "ae" in losses else [self.decoder]
        projected = "byol" in losses or ("nce" in losses and contrastive_on == "projector")
        unused += [] if projected else [self.projector]
        return unused + ([] if "byol" in losses else [self.predictor])


def byol_loss(online: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Normalised squared error per frame, (batch, channels, frames) → scalar: 2 − 2·cos."""
    online = F.normalize(online, dim=1)
    target = F.normalize(target, dim=1)
    return (2.0 - 2.0 * (online * target).sum(dim=1)).mean()


def segments(z: torch.Tensor, frames: int) -> torch.Tensor:
    """(batch, channels, F) → (batch · F/frames, channels, frames): each excerpt cut into
    consecutive segments of ``frames`` frames (0: whole), so that each segment is an item of
    the contrastive loss and its neighbours in time are among its negatives."""
    if frames <= 0 or frames >= z.shape[2]:
        return z
    n = z.shape[2] // frames
    cut = z[:, :, : n * frames].reshape(z.shape[0], z.shape[1], n, frames)
    return cut.permute(0, 2, 1, 3).reshape(-1, z.shape[1], frames)


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (SimCLR's InfoNCE) over (batch, channels, frames) embeddings of two views.

    The similarity of two excerpts is the mean over frames of the cosine between their frame
    vectors at the same time (a window's similarity, as the window search sums frame
    distances). Each excerpt's positive is its other view; the other 2·batch − 2 excerpts of
    the batch are its negatives."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1).flatten(1) / z1.shape[2] ** 0.5
    logits = (z @ z.T) / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -1e9)
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, positives)


@torch.no_grad()
def update_moving_average(target: nn.Module, online: nn.Module, alpha: float) -> None:
    """θ_f ← α·θ_f + (1 − α)·θ  (Eq. 2)."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(alpha).add_(o.detach(), alpha=1.0 - alpha)
