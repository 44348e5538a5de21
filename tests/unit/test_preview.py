"""Pictures of evidence for the desk (evidence.preview), made in the real decoder sandbox from
real files: turned as the photo's EXIF says, with nothing of its metadata kept."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from evidence.policy import EvidencePolicy
from evidence.preview import picture
from tests.desk_case import EXAMPLES

POLICY = EvidencePolicy()
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    found = image.convert("RGB").getpixel((x, y))
    assert isinstance(found, tuple)
    return found


def photo_turned_with_gps(target: Path) -> Path:
    """A 400x200 photo whose left half is red, stored with Orientation 6 (turn 90° clockwise
    to show) and a GPS position."""
    image = Image.new("RGB", (400, 200), "blue")
    image.paste((255, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 2.0), 3: "E", 4: (121.0, 28.0, 5.0)})
    image.save(target, "JPEG", exif=exif.tobytes(), quality=95)
    return target


def test_a_photo_is_turned_as_its_exif_says_and_keeps_no_metadata(tmp_path: Path) -> None:
    source = photo_turned_with_gps(tmp_path / "turned.jpg")
    assert Image.open(source).getexif().get_ifd(GPS_IFD)  # the original has a position
    made = picture(source, POLICY, 100)
    assert made.jpeg is not None, made.why
    shown = Image.open(io.BytesIO(made.jpeg))
    assert shown.size == (50, 100)  # turned upright, then fitted in 100 px
    top, bottom = pixel(shown, 25, 10), pixel(shown, 25, 90)
    assert top[0] > 200  # the red half is on top after turning clockwise
    assert bottom[2] > 200
    assert not shown.getexif()  # no orientation, maker or GPS left
    assert "exif" not in shown.info
    assert b"GPS" not in made.jpeg
    assert b"PhoneMaker" not in made.jpeg


def test_a_video_shows_its_first_frame_and_a_pdf_its_first_page() -> None:
    video = picture(EXAMPLES / "evidence" / "KS-EX-0021" / "buyer-crack.mp4", POLICY, 120)
    pdf = picture(EXAMPLES / "evidence" / "KS-EX-0021" / "merchant-cert-pass.pdf", POLICY, 120)
    for made in (video, pdf):
        assert made.jpeg is not None, made.why
        assert max(Image.open(io.BytesIO(made.jpeg)).size) == 120
    page = Image.open(io.BytesIO(pdf.jpeg or b""))
    assert min(pixel(page, 60, 2)) > 240  # a page is white at its top margin


def test_text_is_shown_as_text_and_what_cannot_be_drawn_says_why(tmp_path: Path) -> None:
    chat = picture(EXAMPLES / "evidence" / "KS-EX-0007" / "buyer-chat.txt", POLICY, 120)
    assert chat.jpeg is None
    assert chat.text is not None
    assert "快递" in chat.text
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    made = picture(broken, POLICY, 120)
    assert made.jpeg is None
    assert made.text is None
    assert made.why is not None
    assert made.why.startswith("the picture could not be made")
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 8)
    said = picture(noise, POLICY, 120).why
    assert said is not None
    assert said.startswith("no picture is made of ")


def test_a_pdf_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("a password nobody gave")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as out:
        writer.write(out)
    made = picture(path, POLICY, 120)
    assert made.jpeg is None
    assert made.text is None
    assert made.why == (
        "the picture could not be made: ValueError: the PDF cannot be drawn and shows no text"
    )
