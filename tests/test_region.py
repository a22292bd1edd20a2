"""Where the pose net looks: regions around the tracked people, full looks on time, and
people found in a region come back in frame pixels through the pipeline."""
import numpy as np
import pytest

from pipan.pipeline import Pipeline
from pipan.region import RegionPolicy, crop, joint_box, to_frame
from pipan.types import Person, PoseEstimatorBase, PoseOutput
from pipan.video import ArraySource
from runtime_fakes import FakeAction


def skeleton(x0, y0, x1, y1):
    kp = np.zeros((18, 3), np.float32)
    kp[:9] = [[x, y, 1.0] for x, y in zip(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))]
    return kp


def test_no_tracks_or_a_due_full_look_means_the_whole_frame():
    rp = RegionPolicy(full_every_s=0.4)
    assert rp.region(0.0, [], (480, 640)) is None
    person = skeleton(300, 200, 340, 300)
    assert rp.region(0.1, [person], (480, 640)) is not None  # 0.1 s after a full look
    assert rp.region(0.45, [person], (480, 640)) is None  # 0.4 s since the last full look
    assert rp.region(0.5, [person], (480, 640)) is not None
    assert rp.region(0.55, [person], (480, 640), pending=True) is None  # a track to confirm
    rp.reset()
    assert rp.region(0.6, [person], (480, 640)) is None  # a fresh policy looks whole first


@pytest.mark.parametrize("x0,y0,x1,y1", [(300, 200, 340, 300), (5, 5, 60, 200),
                                         (560, 300, 635, 470)])
def test_the_region_holds_the_people_with_a_margin_and_is_square(x0, y0, x1, y1):
    rp = RegionPolicy(margin=0.35, min_side=64)
    rp.region(0.0, [], (480, 640))
    box = rp.region(0.1, [skeleton(x0, y0, x1, y1)], (480, 640))
    bx0, by0, bx1, by1 = box
    assert 0 <= bx0 and 0 <= by0 and bx1 <= 640 and by1 <= 480
    assert abs((bx1 - bx0) - (by1 - by0)) <= 1  # square where the frame allows
    pad = 0.35 * max(x1 - x0, y1 - y0) - 1
    assert bx0 <= max(x0 - pad, 0) and by0 <= max(y0 - pad, 0)
    assert bx1 >= min(x1 + pad, 640) and by1 >= min(y1 + pad, 480)


def test_people_spread_over_the_frame_get_the_whole_frame():
    rp = RegionPolicy(max_area=0.6)
    rp.region(0.0, [], (480, 640))
    spread = [skeleton(10, 50, 60, 400), skeleton(560, 50, 620, 400)]
    assert rp.region(0.1, spread, (480, 640)) is None


def test_joint_box_and_crop_and_to_frame():
    kp = skeleton(10, 20, 30, 60)
    kp[3, 2] = 0
    assert joint_box(kp) == pytest.approx((10, 20, 30, 60))
    assert joint_box(np.zeros((18, 3), np.float32)) is None
    image = np.arange(480 * 640 * 3, dtype=np.uint8).reshape(480, 640, 3)
    part = crop(image, (100, 50, 300, 250))
    assert part.shape == (200, 200, 3) and part[0, 0, 0] == image[50, 100, 0]
    moved = to_frame([Person(kp, 0.9)], (100, 50, 300, 250))[0].keypoints
    assert moved[0, :2] == pytest.approx(kp[0, :2] + [100, 50])
    assert moved[3, 2] == 0 and moved[3, 0] == kp[3, 0]  # absent joints stay where they were


class BlobPose(PoseEstimatorBase):
    """Finds the one bright rectangle in whatever image it is given (a region or the whole
    frame) and reports a skeleton over it in that image's pixels; records image sizes."""

    def __init__(self):
        self.sizes = []

    def estimate_timed(self, image):
        self.sizes.append(image.shape[:2])
        ys, xs = np.nonzero(image[..., 0] > 128)
        if not len(xs):
            return PoseOutput([])
        return PoseOutput([Person(skeleton(xs.min(), ys.min(), xs.max(), ys.max()), 0.9)])


def test_the_pipeline_looks_in_regions_and_reports_frame_pixels():
    frames = []
    for i in range(30):
        f = np.zeros((240, 320, 3), np.uint8)
        x = 100 + 2 * i
        f[80:160, x:x + 30] = 255
        frames.append(f)
    pose = BlobPose()
    pipe = Pipeline(pose, FakeAction(), regions=RegionPolicy(full_every_s=0.5, min_side=32,
                                                             margin=0.35),
                    smoother=False)  # raw keypoints: exact positions to compare
    reported = []
    with ArraySource(frames, fps=30.0) as src:
        for frame in src:
            for tr in pipe.process(frame).tracks:
                reported.append((frame.index, tr.person.keypoints.copy()))
    assert any(s != (240, 320) for s in pose.sizes)  # most looks were regions
    assert sum(s == (240, 320) for s in pose.sizes) >= 2  # and the whole frame on time
    assert [i for i, _ in reported] == list(range(2, 30))  # one track, from its third frame
    for i, kp in reported:
        x = 100 + 2 * i
        assert kp[0, :2] == pytest.approx([x, 80], abs=1) and kp[8, :2] == pytest.approx(
            [x + 29, 159], abs=1)


def test_a_tight_look_at_each_new_steady_track_then_one_every_sides_every_s_in_turn():
    rp = RegionPolicy(sides_every_s=0.5, sides_margin=0.15, min_side=64)
    a, b = skeleton(100, 100, 140, 300), skeleton(400, 120, 440, 320)
    assert rp.sides_look(0.0, [(1, a)], (480, 640)) is None  # not seen moving yet
    look = rp.sides_look(0.05, [(1, a)], (480, 640))
    assert look is not None and look[0] == 1
    x0, y0, x1, y1 = look[1]
    assert x0 <= 100 and y0 <= 100 and x1 >= 140 and y1 >= 300  # the person, whole
    assert (x1 - x0) <= 1.4 * 200 + 2  # and little else: margin 0.15 of their length
    assert rp.sides_look(0.1, [(1, a)], (480, 640)) is None  # not due
    rp.sides_look(0.15, [(1, a), (2, b)], (480, 640))
    assert rp.sides_look(0.2, [(1, a), (2, b)], (480, 640))[0] == 2  # a new track at once
    assert rp.sides_look(0.5, [(1, a), (2, b)], (480, 640)) is None
    assert rp.sides_look(0.75, [(1, a), (2, b)], (480, 640))[0] == 1  # looked at longest ago
    assert rp.sides_look(1.3, [(1, a), (2, b)], (480, 640))[0] == 2
    rp.sides_result(1, True)  # agreed: person 1's next look 1 s after the last (0.75 s)
    assert rp.sides_look(1.6, [(1, a), (2, b)], (480, 640)) is None
    assert rp.sides_look(1.8, [(1, a), (2, b)], (480, 640))[0] == 1  # due longest
    assert rp.sides_look(1.8, [(1, a), (2, b)], (480, 640)) is None  # one look at a time
    assert rp.sides_look(1.85, [(1, a), (2, b)], (480, 640))[0] == 2
    walker = RegionPolicy()
    for i in range(10):  # a person walking a body length a second is never looked at so
        x = 100 + 20 * i
        assert walker.sides_look(0.1 * i, [(1, skeleton(x, 100, x + 40, 300))], (480, 640)) is None
    assert RegionPolicy(sides_every_s=0).sides_look(0.0, [(1, a)], (480, 640)) is None


def test_the_pipeline_runs_a_tight_look_besides_the_regions_now_and_then():
    class Recorder(PoseEstimatorBase):
        tells_sides = False  # as pipan's net

        def __init__(self):
            self.shapes = []

        def estimate_timed(self, frame_bgr):
            self.shapes.append(frame_bgr.shape[:2])
            return PoseOutput([])

    pose = Recorder()
    pipe = Pipeline(pose, FakeAction(), regions=RegionPolicy(sides_every_s=1.0))
    taught = []
    pipe.tracker.learn_sides = lambda tid, people: taught.append(len(pose.shapes)) or False
    pipe.tracker.expected = lambda: [(7, skeleton(300, 200, 330, 280))]
    frames = [np.zeros((480, 640, 3), np.uint8)] * 30
    for _ in pipe.run(ArraySource(frames, fps=10.0)):
        pass
    assert len(taught) == 3  # at 0.1 s, 1.1 s and 2.1 s (each look taught something)
    assert len(pose.shapes) == 30 + 3  # one call a frame, and one more per tight look
    for n in taught:
        assert pose.shapes[n - 1][0] < 200  # the tight look: a small crop around them
    sure = Recorder()
    sure.tells_sides = True  # an estimator that tells sides at any size (BlazePose)
    pipe = Pipeline(sure, FakeAction(), regions=RegionPolicy(sides_every_s=1.0))
    pipe.tracker.expected = lambda: [(7, skeleton(300, 200, 330, 280))]
    for _ in pipe.run(ArraySource(frames, fps=10.0)):
        pass
    assert len(sure.shapes) == 30  # never a second look


def test_an_estimator_that_needs_whole_frames_gets_every_frame_whole_and_once():
    class FramePose(PoseEstimatorBase):
        whole_frames = True

        def __init__(self):
            self.shapes = []

        def estimate_timed(self, frame_bgr):
            self.shapes.append(frame_bgr.shape[:2])
            return PoseOutput([Person(skeleton(300, 200, 330, 280), 0.9)])

    pose = FramePose()
    frames = [np.zeros((480, 640, 3), np.uint8)] * 30
    for _ in Pipeline(pose, FakeAction()).run(ArraySource(frames, fps=10.0)):
        pass
    assert pose.shapes == [(480, 640)] * 30


def test_looks_that_keep_agreeing_come_ever_less_often_and_a_disagreement_resets_them():
    quiet = RegionPolicy(sides_every_s=1.0)
    quiet.sides_result(5, None)  # a look that showed nothing: the next one later too
    assert quiet._sides_every[5] == 2.0
    rp = RegionPolicy(sides_every_s=1.0, sides_max_every_s=8.0)
    a = skeleton(100, 100, 140, 300)
    times = []
    t = 0.0
    while t < 40.0:
        look = rp.sides_look(t, [(1, a)], (480, 640))
        if look is not None:
            times.append(round(t, 1))
            rp.sides_result(1, len(times) > 1 and t < 30.0)  # taught, agreeing, then not
        t += 0.1
    gaps = [round(b - a_, 1) for a_, b in zip(times, times[1:])]
    assert gaps[:4] == [1.0, 2.0, 4.0, 8.0] and max(gaps) == 8.0
    assert gaps[-1] == 1.0  # disagreeing: back to once a second
