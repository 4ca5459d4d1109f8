"""The networks trained together: encoder, decoder, projector, predictor (paper §III-D), and
the BYOL loss with its moving-average target."""

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
        if "byol" in config.losses:
            online1 = self.predictor(self.projector(self.encoder(view1)))
            online2 = self.predictor(self.projector(self.encoder(view2)))
            with torch.no_grad():
                target1 = target_projector(target_encoder(view1))
                target2 = target_projector(target_encoder(view2))
            parts["byol"] = byol_loss(online1, target2) + byol_loss(online2, target1)
        if "ae" in config.losses:
            source = view1 if config.ae_input == "view" else clean
            parts["ae"] = F.mse_loss(self.decoder(self.encoder(source)), clean)
        total = parts.get("byol", 0.0) + config.ae_weight * parts.get("ae", 0.0)
        return total, parts

    def unused_heads(self, losses: tuple[str, ...]) -> list[nn.Module]:
        """The heads no loss in ``losses`` reaches: the decoder without ``ae``, the projector
        and predictor without ``byol``."""
        unused = [] if "ae" in losses else [self.decoder]
        return unused + ([] if "byol" in losses else [self.projector, self.predictor])


def byol_loss(online: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Normalised squared error per frame, (batch, channels, frames) → scalar: 2 − 2·cos."""
    online = F.normalize(online, dim=1)
    target = F.normalize(target, dim=1)
    return (2.0 - 2.0 * (online * target).sum(dim=1)).mean()


@torch.no_grad()
def update_moving_average(target: nn.Module, online: nn.Module, alpha: float) -> None:
    """θ_f ← α·θ_f + (1 − α)·θ  (Eq. 2)."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(alpha).add_(o.detach(), alpha=1.0 - alpha)
