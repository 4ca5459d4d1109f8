"""Genre styles: how each of the four genres sounds (tempo, groove, instruments, planted sounds).

:data:`GENRES` holds one :class:`GenreStyle` per genre of the paper's dataset (House, Dubstep,
Drum&Bass, Downtempo). Tempos are in BPM, swing in fractions of a 16th step, levels in dB;
drum patterns are strings of 16 steps (one bar of 16th notes).
"""

from __future__ import annotations

from dataclasses import dataclass

from loopfind_core.base.errors import ConfigurationError


@dataclass(frozen=True)
class GenreStyle:
    """How one genre sounds: tempo, groove, instruments and the sounds it tends to plant.

    Drum patterns are strings of 16 steps (one bar of 16th notes): ``X`` accent, ``x``
    normal, ``g`` ghost, ``.`` rest. One pattern of each tuple is drawn per track.
    """

    name: str
    tempo_range_bpm: tuple[float, float]
    swing_range: tuple[float, float]  # fraction of a 16th step by which odd steps come late
    kick_patterns: tuple[str, ...]
    snare_patterns: tuple[str, ...]
    hat_patterns: tuple[str, ...]
    open_hat_patterns: tuple[str, ...]
    perc_patterns: tuple[str, ...]
    snare_is_clap: bool  # a clap instead of a snare on the backbeat
    bass_style: str  # "offbeat" (house pluck), "wobble", "reese" or "sub"
    pad_style: str  # "supersaw", "rhodes" or "organ"
    loop_kinds: tuple[str, ...]  # drawn uniformly; a kind listed twice is twice as likely
    sample_kinds: tuple[str, ...]  # likewise
    bass_gain_db: float = 0.0  # bass level against LAYER_GAINS (dubstep drops are bass-heavy)
    layer_change_scale: float = 1.0  # scales phrase_layer_toggle_probability: how restless
    #                                  the arrangement is (house grooves hold one loop long)
    vinyl_level_db: float | None = None  # a crackle-and-hiss bed, RMS vs the backing's


GENRES: dict[str, GenreStyle] = {
    "House": GenreStyle(
        name="House",
        tempo_range_bpm=(120.0, 128.0),
        swing_range=(0.0, 0.12),
        kick_patterns=("X...X...X...X...",),
        snare_patterns=("....X.......X...", "....X.......X..g"),
        hat_patterns=("x.x.x.x.x.x.x.x.", "gxgxgxgxgxgxgxgx", "..x...x...x...x."),
        open_hat_patterns=("..x...x...x...x.", "......x.......x."),
        perc_patterns=("...x..x....x..x.", "..g...g.g...g...", "x..x..x...x..x.."),
        snare_is_clap=True,
        bass_style="offbeat",
        pad_style="organ",
        loop_kinds=("stab", "stab", "arp", "perc", "vox", "bass", "hook"),
        sample_kinds=("vox", "vox", "stab", "riser", "noise", "hit", "bell"),
        layer_change_scale=0.3,
    ),
    "Dubstep": GenreStyle(
        name="Dubstep",
        tempo_range_bpm=(138.0, 142.0),
        swing_range=(0.0, 0.08),
        kick_patterns=("X.........x.....", "X......x..x.....", "X.....x........."),
        snare_patterns=("........X.......", "........X.....g."),
        hat_patterns=("x.x.x.x.x.x.x.x.", "x..x..x..x..x.x.", "xxx.x.xxx.x.x.xx"),
        open_hat_patterns=("......x.........", "..............x."),
        perc_patterns=("....g.......g...", "..x.......x..x..", "g..g..g..g..g..g"),
        snare_is_clap=False,
        bass_style="wobble",
        pad_style="supersaw",
        loop_kinds=("bass", "bass", "arp", "fill", "vox", "hook", "stab"),
        sample_kinds=("zap", "zap", "vox", "hit", "riser", "noise", "stab"),
        bass_gain_db=4.0,
        layer_change_scale=1.5,
    ),
    "Drum&Bass": GenreStyle(
        name="Drum&Bass",
        tempo_range_bpm=(170.0, 176.0),
        swing_range=(0.0, 0.1),
        kick_patterns=("X.........X.....", "X.X.......X.....", "X.......X.X....."),
        snare_patterns=("....X.......X...", "....X..g.g..X..g", "....X.g.....X.g."),
        hat_patterns=("x.x.x.x.x.x.x.x.", "gxgxgxgxgxgxgxgx", "x.xgx.xgx.xgx.xg"),
        open_hat_patterns=("..x.......x.....", "......x.......x."),
        perc_patterns=("..x...x...x...x.", "x..g..x..g..x..g", ".x.x.x.x.x.x.x.x"),
        snare_is_clap=False,
        bass_style="reese",
        pad_style="supersaw",
        loop_kinds=("bass", "perc", "fill", "fill", "arp", "stab", "vox"),
        sample_kinds=("hit", "zap", "riser", "vox", "noise", "stab", "bell"),
        bass_gain_db=2.0,
    ),
    "Downtempo": GenreStyle(
        name="Downtempo",
        tempo_range_bpm=(80.0, 100.0),
        swing_range=(0.15, 0.33),
        kick_patterns=("X......X..X.....", "X.....x...X.....", "X.........X..x.."),
        snare_patterns=("....X.......X...", "....X.......X..g"),
        hat_patterns=("x.x.x.x.x.x.x.x.", "x.xgx.x.x.xgx.x.", "xgxgxgxgxgxgxgxg"),
        open_hat_patterns=("............x...", "......x........."),
        perc_patterns=("..x.....x..x....", "...g..x....g..x.", "x...x.x.....x..."),
        snare_is_clap=False,
        bass_style="sub",
        pad_style="rhodes",
        loop_kinds=("hook", "hook", "arp", "perc", "stab", "vox", "bass"),
        sample_kinds=("vox", "noise", "bell", "bell", "stab", "hit", "riser"),
        vinyl_level_db=-14.0,
    ),
}


def _style_of(genre: str) -> GenreStyle:
    if genre not in GENRES:
        raise ConfigurationError(
            f"Unknown genre {genre!r}: choose one of {', '.join(GENRES)}."
        )
    return GENRES[genre]
