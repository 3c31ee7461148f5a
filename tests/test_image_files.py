"""Image files as people have them: pixel formats, EXIF orientation, decompression bombs, hidden files.

Every file is a real one, written by PIL into ``tmp_path``; nothing is mocked.
"""

import io

import numpy as np
import pytest
from _image_cases import pixel_format_cases

from coursekit.data import DataError
from coursekit.data.images import is_hidden, read_image_file, scan_image_folder, to_rgb8


@pytest.mark.parametrize("name, write, rgb", pixel_format_cases(), ids=[c[0] for c in pixel_format_cases()])
def test_every_pixel_format_decodes_to_its_colour(tmp_path, name, write, rgb):
    path = tmp_path / name
    write(path)
    pixels = read_image_file(path, 8)
    assert pixels.shape == (8, 8, 3) and pixels.dtype == np.uint8
    np.testing.assert_allclose(pixels.reshape(-1, 3).mean(0), rgb, atol=4, err_msg=name)


def test_the_pixel_formats_are_the_ones_claimed(tmp_path):
    """The cases really are the PIL modes the loader promises to handle (a writer could silently convert)."""
    from PIL import Image

    modes = set()
    for name, write, _ in pixel_format_cases():
        write(tmp_path / name)
        with Image.open(tmp_path / name) as im:
            modes.add(im.mode)
    assert {"1", "L", "P", "LA", "RGBA", "CMYK", "RGB", "I;16", "I"} <= modes, modes


def test_floating_point_and_out_of_range_wide_images_are_refused_by_name(tmp_path):
    from PIL import Image

    with pytest.raises(DataError, match=r"odd\.tif holds floating-point pixels \(PIL mode F\).*8- or 16-bit PNG"):
        to_rgb8(Image.new("F", (4, 4), 0.5), tmp_path / "odd.tif")
    Image.new("I", (4, 4), 70000).save(tmp_path / "wide.tif")
    with pytest.raises(DataError, match=r"wide\.tif is a I image with values 70000\.\.70000, outside 16 bits"):
        read_image_file(tmp_path / "wide.tif", 4)


def _arrow_jpeg(path, orientation):
    """A 40 x 20 (wide) JPEG: left half red, right half blue, stored with the given EXIF orientation."""
    from PIL import Image

    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (230, 20, 20)
    pixels[:, 20:] = (20, 20, 230)
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag
    Image.fromarray(pixels).save(path, quality=95, exif=exif)


def test_exif_orientation_is_applied(tmp_path):
    """Orientation 6 ("rotate 90 degrees clockwise to view"): the stored left half (red) is the upright top.

    Unrotated, the central square would be red on the left, blue on the right; rotated the wrong
    way (counter-clockwise) red would be at the bottom. Only the right rotation puts red on top.
    """
    _arrow_jpeg(tmp_path / "phone.jpg", 6)
    x = read_image_file(tmp_path / "phone.jpg", 16).astype(float)
    top, bottom = x[:6].reshape(-1, 3).mean(0), x[-6:].reshape(-1, 3).mean(0)
    assert top[0] > 180 and top[2] < 70, f"the top should be red, got RGB {np.round(top)}"
    assert bottom[2] > 180 and bottom[0] < 70, f"the bottom should be blue, got RGB {np.round(bottom)}"
    assert abs(x[:, :6, 0].mean() - x[:, -6:, 0].mean()) < 20, "left and right must look alike once upright"
    # orientation 8 (rotate counter-clockwise to view): red at the bottom; 1 (upright): red on the left
    _arrow_jpeg(tmp_path / "ccw.jpg", 8)
    x8 = read_image_file(tmp_path / "ccw.jpg", 16).astype(float)
    assert x8[-6:, :, 0].mean() > 180 and x8[:6, :, 0].mean() < 70
    _arrow_jpeg(tmp_path / "upright.jpg", 1)
    x1 = read_image_file(tmp_path / "upright.jpg", 16).astype(float)
    assert x1[:, :6, 0].mean() > 180 and x1[:, -6:, 0].mean() < 70


@pytest.mark.parametrize("factor", [1.5, 3.0], ids=["over the limit (Pillow warns)", "over twice (Pillow raises)"])
def test_a_decompression_bomb_is_refused_with_its_name(tmp_path, monkeypatch, factor):
    """Lowering Pillow's limit makes a 40 x 40 file a bomb: refused by name before it is decoded."""
    from PIL import Image

    Image.new("RGB", (40, 40), (9, 9, 9)).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(40 * 40 / factor))
    with pytest.warns(Image.DecompressionBombWarning) if factor < 2 else _nothing():
        with pytest.raises(DataError, match=r"huge\.png is .*decompression-bomb limit of .*MAX_IMAGE_PIXELS"):
            read_image_file(tmp_path / "huge.png", 8)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 40)  # at the limit: read
    assert read_image_file(tmp_path / "huge.png", 8).shape == (8, 8, 3)


def _nothing():
    from contextlib import nullcontext

    return nullcontext()


def test_a_file_object_is_named_as_the_caller_says():
    with pytest.raises(DataError, match=r"cannot read the image file z\.jpg inside h2z\.zip .*Fetch it again"):
        read_image_file(io.BytesIO(b"not an image"), 8, name="z.jpg inside h2z.zip", fix="Fetch it again")


def test_hidden_system_and_other_files_are_skipped_and_counted(tmp_path):
    from PIL import Image

    root = tmp_path / "animefacedataset"
    (root / "images" / "sub").mkdir(parents=True)
    for rel in ("images/1.jpg", "images/sub/2.png", "top.webp"):
        Image.new("RGB", (8, 8), (100, 0, 0)).save(root / rel)
    hidden = [".DS_Store", "images/.DS_Store", "images/Thumbs.db", "images/._1.jpg", "__MACOSX/images/._1.jpg",
              ".ipynb_checkpoints/3.png", "images/desktop.ini"]
    for rel in hidden:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\x00\x05\x16\x07 resource fork, not an image")
    (root / "notes.txt").write_text("labels? none")
    scan = scan_image_folder(root)
    assert [f.relative_to(root).as_posix() for f in scan.files] == ["images/1.jpg", "images/sub/2.png", "top.webp"]
    assert len(scan.hidden) == len(hidden) and [f.name for f in scan.other] == ["notes.txt"]
    note = scan.skipped()
    assert note.startswith("skipped 7 hidden or system files (e.g. ") and "1 non-image file (e.g. notes.txt)" in note
    assert scan_image_folder(root / "images" / "sub").skipped() == ""


def test_only_parts_below_the_folder_count_as_hidden(tmp_path):
    """kagglehub stores downloads under ~/.cache: a hidden folder *above* the one scanned is read."""
    from pathlib import Path

    from PIL import Image

    root = tmp_path / ".cache" / "kagglehub" / "datasets" / "faces"
    root.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "1.jpg")
    assert len(scan_image_folder(root).files) == 1
    assert is_hidden(Path("._1.jpg")) and is_hidden(Path("THUMBS.DB")) and not is_hidden(Path("images/1.jpg"))
