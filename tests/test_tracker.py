"""Tracker properties: stable ids through motion, crossing, occlusion; ids never reused;
tracks end after max_missed frames; detection order does not matter."""
import numpy as np
import pytest

from pipan.tracker import Tracker, oks
from pipan.types import Person
from runtime_fakes import figure


def people(*centres, action="stand"):
    return [Person(keypoints=figure(x, y, action), score=0.9) for x, y in centres]


def ids_by_x(tracks):
    return [t.id for t in sorted(tracks, key=lambda t: t.person.keypoints[1, 0])]


def test_one_person_keeps_id_while_moving_fast():
    tr = Tracker(min_hits=1)
    for f in range(100):
        out = tr.update(people((10 + 12 * f, 100)))  # 12 px/frame, a fast walk
        assert [t.id for t in out] == [1]
    assert tr.ended == []


@pytest.mark.parametrize("seed", range(25))
def test_crossing_people_keep_their_ids(seed):
    rng = np.random.default_rng(seed)
    v1, v2 = rng.uniform(2, 8), -rng.uniform(2, 8)
    dy = rng.uniform(-8, 8)  # nearly the same height in the image: a true crossing
    x1, x2 = 20.0, 20.0 + (v1 - v2) * 30  # they meet at frame 30
    tr = Tracker(min_hits=1)
    first = None
    for f in range(60):
        a, b = (x1 + v1 * f, 150), (x2 + v2 * f, 150 + dy)
        order = [a, b] if rng.random() < 0.5 else [b, a]  # detection order is arbitrary
        out = tr.update(people(*order))
        by_track = {t.id: t.person.keypoints[1, 0] for t in out}
        if first is None:
            first = {tid: x for tid, x in by_track.items()}
            id_a = min(first, key=lambda k: abs(first[k] - a[0]))
        # the track that started on person a is still where person a is
        assert abs(by_track[id_a] - a[0]) < 1e-3 or abs(a[0] - b[0]) < 1e-3
    assert sorted(by_track) == [1, 2]


def test_occluded_person_is_found_again_at_the_predicted_place():
    tr = Tracker(min_hits=1, max_missed=10)
    for f in range(20):
        tr.update(people((50 + 5 * f, 100), (250, 100)))
    for f in range(20, 26):  # the walker is hidden for 6 frames but keeps walking
        out = tr.update(people((250, 100)))
        assert [t.id for t in out] == [2]
    out = tr.update(people((50 + 5 * 26, 100), (250, 100)))
    assert ids_by_x(out) == [1, 2]


def test_tracks_end_after_max_missed_and_ids_are_never_reused():
    tr = Tracker(min_hits=1, max_missed=3)
    tr.update(people((50, 100)))
    ended_at = None
    for f in range(1, 8):
        tr.update([])
        if tr.ended:
            assert tr.ended == [1]
            ended_at = f
            break
    assert ended_at == 4  # missed 4 > 3 frames
    out = tr.update(people((50, 100)))  # the same place, but a new track
    assert [t.id for t in out] == [2]
    assert tr.finish() == [2]
    assert tr.active_ids == []


def test_entering_people_get_new_ids_in_order():
    tr = Tracker(min_hits=1)
    assert [t.id for t in tr.update(people((50, 100)))] == [1]
    assert [t.id for t in tr.update(people((50, 100), (200, 100)))] == [1, 2]
    assert [t.id for t in tr.update(people((300, 100), (50, 100), (200, 100)))] == [1, 2, 3]


def test_far_jump_starts_a_new_track():
    tr = Tracker(min_hits=1, max_missed=2)
    tr.update(people((20, 100)))
    out = tr.update(people((300, 100)))
    assert [t.id for t in out] == [2]


def test_oks_is_one_for_identical_and_zero_without_common_joints():
    a = figure(10, 10)
    assert oks(a, a, 1000.0, 0.25) == pytest.approx(1.0)
    b = a.copy()
    b[:, 2] = 0
    assert oks(a, b, 1000.0, 0.25) == 0.0
    assert oks(a, figure(20, 10), 1000.0, 0.25) < oks(a, figure(12, 10), 1000.0, 0.25)


@pytest.mark.parametrize("seed", range(10))
def test_plain_python_and_vectorised_scoring_agree(seed):
    from pipan.tracker import centres_and_areas, geometry, oks_matrix, oks_py
    rng = np.random.default_rng(seed)
    kp = np.concatenate([rng.random((6, 18, 2), np.float32) * 300,
                         (rng.random((6, 18, 1)) > 0.3).astype(np.float32)], -1)
    kp[0, :, 2] = 0  # nobody's joints
    kp[1, 1:, 2] = 0  # one joint only
    centres, areas = centres_and_areas(kp)
    for m in range(6):
        c, a = geometry(kp[m].tolist())
        assert c == pytest.approx(tuple(centres[m]), abs=1e-3) and a == pytest.approx(areas[m])
    shift = (3.0, -2.0)
    moved = kp[:3].copy()
    moved[..., :2] += np.float32(shift)
    ref = oks_matrix(moved, kp, areas[:3] + 1000, 0.25)
    for i in range(3):
        for j in range(6):
            got = oks_py(kp[i].tolist(), shift, kp[j].tolist(), float(areas[i] + 1000), 0.25)
            assert got == pytest.approx(float(ref[i, j]), abs=1e-5)


def test_crowded_scene_uses_the_vectorised_path_with_the_same_ids():
    import pipan.tracker as T
    centres = [(40 + 60 * k, 100 + 150 * (k % 2)) for k in range(8)]  # 8 people: 64 pairs
    runs = []
    for small in (0, 10_000):  # 0: always vectorised; 10000: always plain Python
        old, T.SMALL = T.SMALL, small
        try:
            tr = Tracker(min_hits=1)
            ids = []
            for f in range(30):
                out = tr.update(people(*[(x + 2 * f, y) for x, y in centres]))
                ids.append(ids_by_x(out))
            runs.append(ids)
        finally:
            T.SMALL = old
    assert runs[0] == runs[1] and runs[0][-1] == sorted(runs[0][-1])


def test_flickering_detections_never_become_tracks():
    tr = Tracker(min_hits=3)
    for f in range(30):  # a false person on every other frame, a real one throughout
        found = [(50 + 2 * f, 100)] + ([(300, 200)] if f % 2 else [])
        out = tr.update(people(*found))
        assert [t.id for t in out] == ([] if f < 2 else [1])
    assert tr.finish() == [1]


def test_a_track_is_reported_once_confirmed_with_its_first_id():
    tr = Tracker(min_hits=3)
    assert tr.update(people((50, 100))) == []
    assert tr.update(people((52, 100))) == []
    assert tr.tentative == 1 and tr.skeletons() == []  # regions follow confirmed people
    assert [t.id for t in tr.update(people((54, 100)))] == [1]
    assert tr.active_ids == [1] and len(tr.skeletons()) == 1 and tr.tentative == 0


def test_a_person_hidden_for_two_seconds_keeps_the_id():
    # 18 fps: hidden for 36 frames while walking 3 px/frame, found 20 px off the prediction
    tr = Tracker()
    for f in range(10):
        tr.update(people((50 + 3 * f, 100)))
    for f in range(10, 46):
        assert tr.update([]) == []
    out = tr.update(people((50 + 3 * 46 + 20, 104)))
    assert [t.id for t in out] == [1] and tr.ended == []


def test_a_missed_track_widens_its_gate():
    tr = Tracker(min_hits=1, max_missed=20)
    tr.update(people((100, 100)))
    tr.update(people((100, 100)))  # standing still
    far = (100 + 60, 100)  # beyond the gate of a track seen a frame ago
    fresh = Tracker(min_hits=1)
    fresh.update(people((100, 100)))
    fresh.update(people((100, 100)))
    assert [t.id for t in fresh.update(people(far))] == [2]  # a new person
    for _ in range(8):
        tr.update([])
    assert [t.id for t in tr.update(people(far))] == [1]  # the same person, back


def test_weak_detections_only_continue_confirmed_tracks():
    tr = Tracker(min_hits=2, min_start_score=0.2)
    weak = [Person(keypoints=figure(300, 100), score=0.1)]
    for _ in range(5):  # a weak detection alone never becomes a track
        assert tr.update(weak) == [] and tr.tentative == 0
    strong = people((50, 100))
    tr.update(strong)
    assert [t.id for t in tr.update(strong)] == [1]
    faded = [Person(keypoints=figure(52, 100), score=0.1)]
    assert [t.id for t in tr.update(faded)] == [1]  # the confirmed track goes on
