import numpy as np

from pipan.image import (PIXEL_QUANTIZATION, letterbox, takes_pixels, to_net_input,
                         to_net_input_int8)


def test_letterbox_roundtrip_and_content():
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[100:110, 200:210] = (0, 0, 255)  # a red square in BGR
    img, lb = letterbox(frame, 224)
    assert img.shape == (224, 224, 3)
    c = lb.to_net(np.float32([[205, 105]]))[0]
    assert img[int(c[1]), int(c[0]), 0] == 255  # red is channel 0 in RGB
    assert img[0, 0].sum() == 0  # padding
    np.testing.assert_allclose(lb.to_frame(lb.to_net([[12.5, 200.0]])), [[12.5, 200.0]],
                               atol=1e-4)


def test_letterbox_portrait():
    img, lb = letterbox(np.full((400, 100, 3), 255, np.uint8), 224)
    assert lb.dy == 0 and lb.dx > 0
    assert img[:, :int(lb.dx) - 1].sum() == 0


def test_int8_input_is_the_quantised_float_input():
    rgb = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, -1)
    scale, zp = PIXEL_QUANTIZATION
    q = np.clip(np.round(to_net_input(rgb) / scale) + zp, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(to_net_input_int8(rgb), q)
    assert takes_pixels(np.int8, float(scale), zp)
    assert not takes_pixels(np.int8, 0.004, zp) and not takes_pixels(np.int8, float(scale), 0)
    assert not takes_pixels(np.float32, 0.0, 0) and not takes_pixels(np.uint8, float(scale), zp)
