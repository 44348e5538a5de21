"""Videos: demuxed and decoded by FFmpeg (PyAV). Runs inside the decoder sandbox.

A video's duration is what its packets' timestamps span, read packet by packet, not the
duration a header declares: an MP4's ``mdhd`` (the track's timescale and duration), ``mvhd``
(the movie's) and edit list are single numbers anyone can edit, and FFmpeg reports whichever
it finds. Those declarations are then checked against the packets, and the packets against
the codec's own clock (the frame rate an H.264 SPS or an MPEG-4 VOL carries: frames cannot
come faster than it ticks); a file whose timing disagrees with itself by more than the
rulebook's tolerance is rejected (``inconsistent_metadata``). An edited ``mdhd`` timescale
(12800 -> 25 makes a 1 s clip "last" 512 s) disagrees with ``mvhd`` or the edit list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.isobmff import declared_durations, protection
from evidence.policy import EvidencePolicy
from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport

if TYPE_CHECKING:
    import av
    import av.container

DECODER_IMPORTS = ("av",)
"""What the sandbox's worker imports before a call of this module's, outside its CPU budget."""
# The demuxer is chosen from the sniffed type, never probed: nothing outside this list opens.
DEMUXER = {
    "video/mp4": "mov",
    "video/x-m4v": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "video/3gpp2": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
}

# Video codecs accepted: the common camera, phone and browser ones, nothing exotic.
CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "h263", "mjpeg"})
# What FFmpeg may open at all, by demuxer and by decoder implementation name: its stream probe
# decodes a little of every stream before we see it, so the allowlists are given to FFmpeg too.
_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
_DECODERS = "h264,hevc,vp8,libvpx,vp9,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,h263,mjpeg"


def probe_video(path: str, mime: str, policy: EvidencePolicy) -> dict[str, Any]:
    """Encryption, streams, codec, size after rotation, duration; decodes the first frames.

    Runs in the decoder sandbox, so it answers plain data (:meth:`ProbeReport.to_plain`).
    """
    import av  # imported in the sandbox worker, not by the caller

    report = ProbeReport()
    demuxer = DEMUXER[mime]
    encrypted = protection(Path(path)) if demuxer == "mov" else None
    if encrypted:
        report.findings.append(Finding(Reason.ENCRYPTED, f"encrypted content ({encrypted})"))
        report.facts["protection"] = encrypted
    try:
        container = av.open(
            path,
            format=demuxer,
            metadata_errors="ignore",
            options={"format_whitelist": _DEMUXERS, "codec_whitelist": _DECODERS},
        )
    except Exception as exc:  # FFmpeg errors on hostile containers
        report.findings.append(Finding(Reason.UNDECODABLE, f"container does not open: {exc}"))
        return report.to_plain()
    with container:
        timing = _inspect(container, policy, report, encrypted=encrypted is not None)
    if timing is not None:
        if demuxer == "mov":  # the boxes as written: FFmpeg reconciles mvhd with the tracks
            timing.declared.extend(declared_durations(Path(path)))
        _check_timing(path, demuxer, policy, report, timing)
    return report.to_plain()


def _inspect(
    container: av.container.InputContainer,
    policy: EvidencePolicy,
    report: ProbeReport,
    *,
    encrypted: bool,
) -> _Timing | None:
    """The streams' facts; the timing to check, unless there is no allowed video stream."""
    facts = report.facts
    facts["container"] = container.format.name
    facts["capture_time"] = _creation_time(container)
    streams = list(container.streams)
    facts["has_audio"] = any(s.type == "audio" for s in streams)
    if not container.streams.video:
        present = ", ".join(sorted({s.type for s in streams})) or "none"
        report.findings.append(
            Finding(Reason.NO_VIDEO_STREAM, f"no video stream (streams present: {present})")
        )
        return None
    stream = container.streams.video[0]
    codec = stream.codec_context
    name = codec.codec.canonical_name  # "av1", whichever decoder (libdav1d) implements it
    facts["codec"] = name
    if name not in CODECS:
        report.findings.append(
            Finding(
                Reason.TYPE_NOT_ALLOWED,
                f"video codec {name} is not one of {', '.join(sorted(CODECS))}",
            )
        )
        return None
    if not encrypted and stream.metadata.get("enc_key_id"):
        # Matroska/WebM: FFmpeg names the key of a ContentEncryption track (untested: no
        # encrypted WebM sample to hand).
        encrypted = True
        report.findings.append(Finding(Reason.ENCRYPTED, "encrypted Matroska/WebM track"))
    if stream.average_rate:
        facts["fps"] = round(float(stream.average_rate), 3)

    frames, rotation, error = _decode_first_frames(container, stream, policy.video_frames_to_decode)
    facts["frames_decoded"] = frames
    if not encrypted and frames == 0:
        why = error or "no frame decodes (an init segment or empty track)"
        report.findings.append(Finding(Reason.UNDECODABLE, why))

    width, height = codec.width, codec.height
    if rotation % 180 == 90:
        width, height = height, width
    facts.update(width=width, height=height, rotation=rotation)
    if width and height and min(width, height) < policy.video_min_short_side:
        report.findings.append(
            Finding(
                Reason.TOO_SMALL,
                f"short side {min(width, height)} px is under {policy.video_min_short_side} px",
            )
        )

    # the codec's clock is known once it has decoded
    rate = codec.framerate
    return _Timing(_declared_seconds(container, stream), float(rate) if rate else None)


@dataclass(frozen=True)
class _Timing:
    declared: list[tuple[str, float]]  # (which header, the seconds it declares)
    codec_fps: float | None  # the rate the codec's own headers give its clock


def _decode_first_frames(
    container: av.container.InputContainer, stream: av.VideoStream, wanted: int
) -> tuple[int, int, str | None]:
    frames = 0
    rotation = 0
    try:
        for frame in container.decode(stream):
            if frames == 0:
                rotation = int(frame.rotation) % 360
            frames += 1
            if frames >= wanted:
                break
    except Exception as exc:
        return frames, rotation, f"video does not decode: {exc}"
    return frames, rotation, None


def _declared_seconds(
    container: av.container.InputContainer, stream: av.VideoStream
) -> list[tuple[str, float]]:
    """The durations FFmpeg reads from the headers: the track's (an MP4's edit list or ``mdhd``),
    and a Matroska segment's when the track is alone (for an MP4, FFmpeg replaces ``mvhd``'s
    with the longest track's, so :func:`declared_durations` reads that box itself)."""
    declared: list[tuple[str, Fraction]] = []
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        declared.append(("the track header", stream.duration * stream.time_base))
    alone = len(container.streams) == 1
    if alone and container.format.name.startswith("matroska") and (container.duration or 0) > 0:
        declared.append(("the segment header", Fraction(container.duration or 0, 1_000_000)))
    return [(name, float(value)) for name, value in declared]


@dataclass
class _Packets:
    count: int = 0
    start: Fraction | None = None
    end: Fraction | None = None
    stopped: bool = False  # at ``stop_after``: there are more

    @property
    def span(self) -> float | None:
        if self.start is None or self.end is None or self.end <= self.start:
            return None
        return float(self.end - self.start)


def _read_packets(path: str, demuxer: str, stop_after: float) -> _Packets:
    """Every video packet, demuxed afresh (a seek after decoding is not to be trusted on a file
    whose timestamps lie), until the timestamps pass ``stop_after`` seconds."""
    import av

    seen = _Packets()
    with av.open(
        path,
        format=demuxer,
        metadata_errors="ignore",
        options={"format_whitelist": _DEMUXERS, "codec_whitelist": _DECODERS},
    ) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if not packet.size or packet.is_discard:
                continue  # the demuxer's flush packet; one an edit list leaves out
            seen.count += 1
            at = packet.pts if packet.pts is not None else packet.dts
            if at is None or packet.time_base is None:
                continue
            start = at * packet.time_base
            stop = (at + (packet.duration or 0)) * packet.time_base
            seen.start = start if seen.start is None else min(seen.start, start)
            seen.end = stop if seen.end is None else max(seen.end, stop)
            if float(seen.end - seen.start) > stop_after:
                seen.stopped = True
                break
    return seen


def _check_timing(
    path: str, demuxer: str, policy: EvidencePolicy, report: ProbeReport, timing: _Timing
) -> None:
    facts = report.facts
    tolerance = policy.video_timing_tolerance
    try:
        packets = _read_packets(path, demuxer, policy.video_max_seconds * tolerance)
    except Exception as exc:
        packets = _Packets()
        report.findings.append(Finding(Reason.UNDECODABLE, f"packets do not demux: {exc}"))
    span = packets.span
    facts["duration_seconds"] = None if span is None else round(span, 3)
    facts["frame_count"] = packets.count
    if span is None:
        if facts.get("frames_decoded"):
            report.findings.append(Finding(Reason.UNDECODABLE, "duration cannot be determined"))
        return
    slack = min(2 * span / packets.count, 0.5)  # two frames' worth, for rounding
    for name, seconds in timing.declared:
        if packets.stopped and seconds > span:
            continue  # both too long: how much longer was not read
        if max(seconds, span) > tolerance * min(seconds, span) + slack:
            report.findings.append(
                Finding(
                    Reason.INCONSISTENT_METADATA,
                    f"{name} declares {seconds:.3f} s but the video's packets span {span:.3f} s",
                )
            )
    codec_fps = timing.codec_fps
    if codec_fps is not None and codec_fps > 0:
        # frames are at least one tick of the codec apart; twice the tolerance, as some encoders
        # write an H.264 clock of half the frame rate (time_scale = fps, meaning 2 x fps)
        fastest = packets.count / codec_fps
        if fastest > 2 * tolerance * span + slack:
            report.findings.append(
                Finding(
                    Reason.INCONSISTENT_METADATA,
                    f"{packets.count} frames at the {codec_fps:g} fps its {facts['codec']} "
                    f"stream runs at last {fastest:.3f} s, but its timestamps span {span:.3f} s",
                )
            )
    if span < policy.video_min_seconds:
        report.findings.append(
            Finding(Reason.TOO_SHORT, f"lasts {span:.3f} s, under {policy.video_min_seconds:g} s")
        )
    elif span > policy.video_max_seconds:
        report.findings.append(
            Finding(Reason.TOO_LONG, f"lasts {span:.1f} s, over {policy.video_max_seconds:g} s")
        )


def _creation_time(container: av.container.InputContainer) -> str | None:
    raw = container.metadata.get("creation_time")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw).strip())
    except ValueError:
        return None
    return value.replace(microsecond=0).isoformat()
