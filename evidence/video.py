"""Videos: demuxed and decoded by FFmpeg (PyAV). Runs inside the decoder sandbox."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.isobmff import protection
from evidence.policy import EvidencePolicy
from evidence.reasons import Finding, Reason
from evidence.report import ProbeReport

if TYPE_CHECKING:
    import av
    import av.container

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
        _inspect(container, policy, report, encrypted=encrypted is not None)
    return report.to_plain()


def _inspect(
    container: av.container.InputContainer,
    policy: EvidencePolicy,
    report: ProbeReport,
    *,
    encrypted: bool,
) -> None:
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
        return
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
        return
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

    duration = _duration(container, stream)
    facts["duration_seconds"] = None if duration is None else round(duration, 3)
    if duration is None:
        if frames:
            report.findings.append(Finding(Reason.UNDECODABLE, "duration cannot be determined"))
    elif duration < policy.video_min_seconds:
        report.findings.append(
            Finding(
                Reason.TOO_SHORT, f"lasts {duration:.3f} s, under {policy.video_min_seconds:g} s"
            )
        )
    elif duration > policy.video_max_seconds:
        report.findings.append(
            Finding(Reason.TOO_LONG, f"lasts {duration:.1f} s, over {policy.video_max_seconds:g} s")
        )


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


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """The video's own duration: a one-frame video with five seconds of sound lasts 0.04 s."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if len(container.streams) == 1 and container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    return _duration_from_packets(container, stream)


def _duration_from_packets(
    container: av.container.InputContainer, stream: av.VideoStream
) -> float | None:
    """Streams without a declared duration (live WebM): the last packet's end time."""
    try:
        container.seek(0)
        end: Fraction | None = None
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            stop = (packet.pts + (packet.duration or 0)) * packet.time_base
            end = stop if end is None else max(end, stop)
    except Exception:
        return None
    return None if end is None or end <= 0 else float(end)


def _creation_time(container: av.container.InputContainer) -> str | None:
    raw = container.metadata.get("creation_time")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw).strip())
    except ValueError:
        return None
    return value.replace(microsecond=0).isoformat()
