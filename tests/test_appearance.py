"""A person's look (pipan.appearance) and the tracker giving a person who comes back their
id again: by colour, only for people lost lately, never to someone dressed differently;
the pipeline then starts that person's motion and segment afresh."""
import numpy as np

from pipan import appearance
from pipan.pipeline import Pipeline
from pipan.tracker import Tracker
from pipan.types import Person, PoseEstimatorBase, PoseOutput
from pipan.video import ArraySource
from runtime_fakes import FakeAction, figure

SHIRTS = {"red": (0, 0, 220), "blue": (220, 60, 0), "green": (40, 200, 40)}
TROUSERS = (60, 60, 60)


def paint(image, kp, shirt):
    """Colour a figure's torso box with ``shirt`` and its legs box dark grey (BGR)."""
    xs, ys = kp[[2, 5, 8, 11], 0], kp[[2, 5, 8, 11], 1]
    image[int(ys.min()):int(ys.max()) + 1, int(xs.min()):int(xs.max()) + 1] = shirt
    xs, ys = kp[[8, 11, 9, 12], 0], kp[[8, 11, 9, 12], 1]
    image[int(ys.min()):int(ys.max()) + 1, int(xs.min()):int(xs.max()) + 1] = TROUSERS


def scene(*people_at):
    """(image, people) with each (x, y, shirt) painted on a mid-grey room."""
    image = np.full((300, 640, 3), 128, np.uint8)
    found = []
    for x, y, shirt in people_at:
        kp = figure(x, y)
        paint(image, kp, SHIRTS[shirt])
        found.append(Person(keypoints=kp, score=0.9))
    return image, found


def test_looks_match_the_same_clothes_and_not_others():
    img_a, [a] = scene((100, 120, "red"))
    img_b, [b] = scene((400, 140, "red"))
    img_c, [c] = scene((400, 140, "blue"))
    la, lb, lc = (appearance.look(i, p.keypoints) for i, p in
                  ((img_a, a), (img_b, b), (img_c, c)))
    assert la.shape == (2 * appearance.PART_SIZE,)
    assert abs(la[:appearance.PART_SIZE].sum() - 1) < 1e-5  # a histogram per part
    assert appearance.similarity(la, lb) > 0.95  # same clothes elsewhere
    assert appearance.similarity(la, lc) < 0.6  # same trousers, another shirt
    none = np.zeros_like(la)
    assert appearance.similarity(la, none) is None
    kp = a.keypoints.copy()
    kp[:, 2] = 0  # no joints: no look
    assert not appearance.look(img_a, kp).any()


def run(tracker, frames):
    """Each frame a list of (x, y, shirt); returns the reported ids per frame."""
    out = []
    for spec in frames:
        image, found = scene(*spec)
        out.append([t.id for t in tracker.update(found, image)])
    return out


def test_a_person_who_leaves_and_comes_back_keeps_their_id():
    tr = Tracker(min_hits=3, max_missed=5)
    frames = [[(100 + 4 * f, 120, "red")] for f in range(20)]
    frames += [[] for _ in range(30)]  # out of the picture, longer than max_missed
    frames += [[(500, 130, "red")] for _ in range(10)]  # back, elsewhere
    ids = run(tr, frames)
    assert ids[10] == [1] and ids[-1] == [1]
    assert set(sum(ids, [])) == {1}


def test_someone_else_gets_a_new_id_and_the_recall_is_time_limited():
    tr = Tracker(min_hits=3, max_missed=5)
    frames = [[(100, 120, "red")] for _ in range(10)] + [[] for _ in range(10)]
    frames += [[(300, 120, "blue")] for _ in range(10)]  # a different person
    assert run(tr, frames)[-1] == [2]
    late = Tracker(min_hits=3, max_missed=5, recall_frames=20)
    frames = [[(100, 120, "red")] for _ in range(10)] + [[] for _ in range(40)]
    frames += [[(100, 120, "red")] for _ in range(10)]  # the same clothes, too late
    assert run(late, frames)[-1] == [2]


def test_a_lost_track_still_alive_hands_its_id_over():
    """The pose net loses a person for a few frames and finds them again far from where
    the track expects them: the new track takes the old id and the old one is dropped
    without ending."""
    tr = Tracker(min_hits=3, max_missed=30)
    frames = [[(100, 120, "green")] for _ in range(10)] + [[] for _ in range(3)]
    frames += [[(560, 130, "green")] for _ in range(10)]
    ids = run(tr, frames)
    assert ids[-1] == [1] and tr.active_ids == [1]
    assert tr.ended == []


def test_without_the_frame_ids_are_never_reused():
    tr = Tracker(min_hits=3, max_missed=5)
    for _ in range(10):
        tr.update([Person(figure(100, 120), 0.9)])
    for _ in range(10):
        tr.update([])
    for _ in range(5):
        out = tr.update([Person(figure(100, 120), 0.9)])
    assert [t.id for t in out] == [2]


class ScriptedPose(PoseEstimatorBase):
    """Gives each call the next frame's people (one call per frame, in order)."""

    def __init__(self, people_per_frame):
        self._next = iter(people_per_frame)

    def estimate_timed(self, image):
        return PoseOutput(next(self._next))


def test_the_pipeline_starts_a_resumed_persons_motion_and_segment_afresh():
    """Lost for three frames and found again 400 px away (a takeover): the action model
    does not see the jump as motion (FakeAction would call it 'walk'), and the segment
    before the gap closes where the person was last seen."""
    specs = [[(100, 120, "red")]] * 20 + [[]] * 3 + [[(500, 130, "red")]] * 20
    scenes = [scene(*spec) for spec in specs]
    action = FakeAction()
    pipe = Pipeline(ScriptedPose([found for _, found in scenes]), action, regions=False,
                    smoother=False, min_duration=0.3, tracker=Tracker(max_missed=30))
    results = list(pipe.run(ArraySource([image for image, _ in scenes], fps=10.0)))
    resumed = [(r.index, r.resumed) for r in results if r.resumed]
    assert resumed == [(25, [1])]  # confirmed on its third frame back
    assert action.forgotten[0] == 1 and pipe.tracker.ended == []
    assert FakeAction.labels[results[25].probabilities[1].argmax()] == "stand"  # no jump
    segments = [s for r in results for s in r.closed]
    assert [(s.person, s.label) for s in segments] == [(1, "stand"), (1, "stand")]
    first, second = segments
    assert first.end <= 2.1 and second.start >= 2.5  # the gap is in neither
