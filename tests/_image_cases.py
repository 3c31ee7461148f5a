"""Image files of every pixel format, written by PIL (shared by test_image_files and test_anime)."""

import numpy as np


def _uniform(mode, value, size=(10, 10)):
    from PIL import Image

    return Image.new(mode, size, value)


def pixel_format_cases():
    """(file name, how to write it, the RGB in [0, 255] the loader must return)."""
    from PIL import Image

    def palette(with_transparency):
        def write(path):
            im = Image.new("P", (10, 10), 1)
            im.putpalette([0, 0, 0, 200, 30, 60] + [0] * 762)
            im.save(path, transparency=1) if with_transparency else im.save(path)
        return write

    def grey16(path):
        Image.fromarray(np.full((10, 10), 32768, np.uint16)).save(path)  # PIL mode I;16, a 16-bit PNG

    return [
        ("bilevel.png", lambda p: _uniform("1", 1).save(p), (255, 255, 255)),
        ("grey.png", lambda p: _uniform("L", 128).save(p), (128, 128, 128)),
        ("grey16.png", grey16, (128, 128, 128)),  # 32768 / 65535: mid-grey, not clipped to white
        ("grey16.tif", grey16, (128, 128, 128)),
        ("grey32-white.tif", lambda p: _uniform("I", 65535).save(p), (255, 255, 255)),  # mode I: 65535 is white
        ("grey32-quarter.tif", lambda p: _uniform("I", 16384).save(p), (64, 64, 64)),
        ("palette.png", palette(False), (200, 30, 60)),
        ("palette.gif", palette(False), (200, 30, 60)),
        ("palette-transparent.png", palette(True), (255, 255, 255)),  # transparent -> white
        ("grey-alpha.png", lambda p: _uniform("LA", (50, 0)).save(p), (255, 255, 255)),
        ("grey-opaque.png", lambda p: _uniform("LA", (50, 255)).save(p), (50, 50, 50)),
        ("rgba-half.png", lambda p: _uniform("RGBA", (255, 0, 0, 128)).save(p), (255, 127, 127)),
        ("rgba.webp", lambda p: _uniform("RGBA", (0, 0, 255, 0)).save(p, lossless=True), (255, 255, 255)),
        ("cmyk.jpg", lambda p: _uniform("CMYK", (0, 255, 255, 0)).save(p, quality=100), (255, 0, 0)),
        ("cmyk-grey.tif", lambda p: _uniform("CMYK", (0, 0, 0, 128)).save(p), (127, 127, 127)),  # (255 - K)
        ("rgb.bmp", lambda p: _uniform("RGB", (10, 200, 90)).save(p), (10, 200, 90)),
    ]
