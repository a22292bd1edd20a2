import numpy as np

from pipan.image import letterbox


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
