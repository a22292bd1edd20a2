"""Tracker properties: stable ids through motion, crossing, occlusion; ids never reused;
tracks end after max_missed frames; detection order does not matter."""
import numpy as np
import pytest

from pipan.skeleton import JOINT_INDEX
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


def test_a_faint_detection_takes_a_lost_track_by_its_joints_not_by_its_place():
    # a person leaves view; ten frames later the pose net sees something else faintly
    # (a stool's legs) some 100 px away, shaped nothing like them. Only a confident
    # detection there (the person fallen, say) continues the track by where it is.
    def after_gap(score):
        tr = Tracker()
        for _ in range(5):
            tr.update(people((100, 100)))
        for _ in range(10):
            assert tr.update([]) == []
        other = _part(_rotated(150, 80, 90), HEAD_AND_TORSO)
        return tr, tr.update([Person(other, score)])
    tr, out = after_gap(0.9)
    assert [t.id for t in out] == [1]  # within reach of the centre-distance fallback
    tr, out = after_gap(0.13)
    assert out == [] and tr.tentative == 0
    assert tr.update(people((104, 100))) and tr.active_ids == [1]  # the person is back


def _rotated(cx, cy, degrees):
    """The standing figure turned by ``degrees`` about its feet, the feet at (cx, cy + 50):
    90 is lying on the floor, head to the right."""
    kp = figure(0, 0)
    a = np.radians(degrees)
    x, y = kp[:, 0].copy(), kp[:, 1] - 50
    kp[:, 0] = cx + x * np.cos(a) - y * np.sin(a)
    kp[:, 1] = cy + 50 + x * np.sin(a) + y * np.cos(a)
    return kp


def test_a_person_who_falls_and_lies_down_keeps_one_id():
    # 18 fps: walks left at 3 px/frame, falls sideways where the pose net finds nobody
    # for a third of a second, then lies on the floor, a horizontal skeleton whose legs
    # are hidden (behind a bed, or not found), its centre 70 px from the standing one's;
    # found in 2 frames of 3, with some jitter
    rng = np.random.default_rng(0)
    tr = Tracker()
    ids = set()
    for f in range(20):
        ids |= {t.id for t in tr.update(people((200 - 3 * f, 200)))}
    for _ in range(6):
        assert tr.update([]) == []
    for f in range(60):
        if f % 3 == 2:
            assert tr.update([]) == []
            continue
        kp = _part(_rotated(143, 200, 90), HEAD_AND_TORSO)
        kp[:, :2] += rng.normal(0, 3, (18, 2)).astype(np.float32)
        out = tr.update([Person(kp, 0.9)])
        assert [t.id for t in out] == [1]
        ids |= {t.id for t in out}
    assert ids == {1} and tr.tentative == 0


def _part(kp, names):
    out = kp.copy()
    keep = [JOINT_INDEX[n] for n in names]
    mask = np.ones(18, bool)
    mask[keep] = False
    out[mask] = 0.0
    return out


LEGS = ("right_hip", "left_hip", "right_knee", "left_knee", "right_ankle", "left_ankle")
HEAD_AND_TORSO = ("nose", "neck", "right_eye", "left_eye", "right_ear", "left_ear",
                  "right_shoulder", "left_shoulder", "right_elbow", "left_elbow",
                  "right_hip", "left_hip")


def test_fragments_and_duplicates_of_a_tracked_person_open_no_track():
    # the pose net splits a walking person into a head-and-torso person and a legs
    # person, or finds them twice; every fragment and duplicate comes in every frame
    tr = Tracker()
    for f in range(40):
        whole = figure(100 + 4 * f, 200)
        found = [Person(whole, 0.6)]
        if f >= 5:
            torso, legs = _part(whole, HEAD_AND_TORSO), _part(whole, LEGS)
            torso[:, :2] += 6  # not quite where the whole person's joints are
            legs[:, 1] += 8
            twin = whole.copy()
            twin[:, :2] += (9, -5)
            found += [Person(legs, 0.5), Person(torso, 0.4), Person(twin, 0.3)]
        out = tr.update(found)
        assert [t.id for t in out] == ([] if f < 2 else [1])
        assert f < 5 or tr.tentative == 0
    # alone, the same fragments: the legs never start a track, the torso does
    lone = Tracker()
    for f in range(10):
        lone.update([Person(_part(figure(300, 200), LEGS), 0.6)])
    assert lone.active_ids == [] and lone.tentative == 0
    for f in range(3):
        lone.update([Person(_part(figure(300, 200), HEAD_AND_TORSO), 0.6)])
    assert lone.active_ids == [1]


def test_a_person_who_comes_back_where_they_were_lost_keeps_the_id():
    # walks right at 8 px/frame, steps out of sight for 1.5 s at 18 fps and comes back
    # where they were lost, not where their velocity would have carried them (216 px on)
    tr = Tracker()
    for f in range(20):
        tr.update(people((100 + 8 * f, 200)))
    last = 100 + 8 * 19
    for _ in range(27):
        assert tr.update([]) == []
    for f in range(5):
        out = tr.update(people((last - 4 * f, 202)))
        assert [t.id for t in out] == [1]


@pytest.mark.parametrize("seed", range(10))
def test_crossing_people_keep_their_ids_when_one_hides_the_other(seed):
    rng = np.random.default_rng(seed)
    v1, v2 = rng.uniform(2, 6), -rng.uniform(2, 6)
    x1, x2 = 40.0, 40.0 + (v1 - v2) * 30  # they meet at frame 30
    tr = Tracker()
    for f in range(60):
        a, b = (x1 + v1 * f, 150), (x2 + v2 * f, 150 + rng.uniform(-5, 5))
        seen = [a] if 27 <= f < 33 else [a, b]  # a walks in front of b
        out = tr.update(people(*seen))
        if f == 10:
            start = {t.id: t.person.keypoints[1, 0] for t in out}
            id_a = min(start, key=lambda k: abs(start[k] - a[0]))
        if f >= 10:
            where = {t.id: t.person.keypoints[1, 0] for t in out}
            assert where[id_a] == pytest.approx(a[0], abs=1e-3)
            assert sorted(where) == ([id_a] if len(seen) == 1 else [1, 2])


def test_a_person_entering_beside_a_tracked_one_is_found_within_half_a_second():
    tr = Tracker()  # 18 fps: half a second is 9 frames
    for f in range(20):
        tr.update(people((100, 200)))
    for f in range(9):
        out = tr.update(people((100, 200), (175, 200)))  # 1.5 shoulder widths apart
        if len(out) == 2:
            break
    assert ids_by_x(out) == [1, 2]


def test_a_small_false_person_beside_a_lost_track_does_not_take_its_id():
    # a person 100 px tall is lost (sitting down where the pose net misses them); beside
    # where they were, the net finds a "person" 20 px tall (a bottle on the floor)
    tr = Tracker()
    for f in range(10):
        tr.update(people((100, 200)))
    for _ in range(5):
        tr.update([])
    bottle = [Person(figure(130, 230, scale=0.2), 0.5)]
    ids = set()
    for _ in range(10):
        ids |= {t.id for t in tr.update(bottle)}
    assert 1 not in ids
    assert [t.id for t in tr.update(people((100, 205)))] == [1]  # found again: still 1


def test_a_track_found_only_faintly_is_not_reported_but_keeps_its_id():
    tr = Tracker(min_start_score=0.2)
    for f in range(5):
        tr.update(people((100, 200)))
    faint = [Person(figure(100, 200), 0.1)]
    shown = [len(tr.update(faint)) for _ in range(10)]
    assert shown[0] == 1 and shown[-1] == 0  # believed at first, then no longer
    assert tr.active_ids == [1]
    assert [t.id for t in tr.update(people((100, 200)))] == [1]


def _labels_swapped(kp):
    from pipan.skeleton import FLIP
    return kp[list(FLIP)].copy()


def test_side_signs_tell_which_joint_of_each_pair_is_on_which_side_of_the_body():
    from pipan.tracker import side_signs
    kp = figure(100, 200)
    assert side_signs(kp.tolist()) == [True, True, True]  # facing the camera
    assert side_signs(_labels_swapped(kp).tolist()) == [False, False, False]
    lying = kp.copy()  # the same body turned a quarter turn: the same answer
    lying[:, :2] = np.stack([-(kp[:, 1] - 200), kp[:, 0] - 100], 1) + (100, 200)
    assert side_signs(lying.tolist()) == [True, True, True]
    side_on = kp.copy()  # seen from the side: the pairs overlap
    side_on[[JOINT_INDEX["right_shoulder"], JOINT_INDEX["left_shoulder"]], 0] = 100
    assert side_signs(side_on.tolist())[1] is None
    no_axis = kp.copy()
    no_axis[JOINT_INDEX["neck"], 2] = 0
    assert side_signs(no_axis.tolist()) == [None, None, None]


def test_trusted_looks_teach_a_track_that_ordinary_looks_swap_its_sides():
    """The net labels a person as seen from behind in ordinary looks; a trusted (tight)
    look reads them right; from then on the ordinary looks are put right, and the track
    changes its mind only when two trusted looks in a row say so."""
    tr = Tracker(min_hits=1)
    wrong = [Person(_labels_swapped(figure(100, 200, "wave")), 0.9)]
    right = [Person(figure(100, 200, "wave"), 0.9)]
    elsewhere = [Person(figure(400, 200, "wave"), 0.9)]
    rwri = JOINT_INDEX["right_wrist"]

    def raised_is_right(out):
        return out[0].person.keypoints[rwri, 1] < 150

    for _ in range(5):
        out = tr.update(wrong)
    assert not raised_is_right(out)  # nothing trusted yet: as found
    tr.learn_sides(out[0].id, elsewhere)  # somebody else in the tight look: nothing learnt
    assert not raised_is_right(tr.update(wrong))
    tr.learn_sides(out[0].id, right + elsewhere)
    for _ in range(3):
        out = tr.update(wrong)
        assert raised_is_right(out)  # put right
    tr.learn_sides(out[0].id, wrong)  # one trusted look says they were right as found
    out = tr.update(wrong)
    assert raised_is_right(out)  # kept
    tr.learn_sides(out[0].id, wrong)  # and a second in a row
    out = tr.update(wrong)
    assert not raised_is_right(out)  # changed
    tr.learn_sides(99, right)  # an id that is not tracked: nothing
    assert not raised_is_right(tr.update(wrong))


def test_learn_sides_says_whether_the_look_agreed_taught_or_showed_nothing():
    tr = Tracker(min_hits=1)
    wrong = [Person(_labels_swapped(figure(100, 200, "wave")), 0.9)]
    right = [Person(figure(100, 200, "wave"), 0.9)]
    tr.update(wrong)
    tid = tr.update(wrong)[0].id  # an ordinary detection matched to the track
    assert tr.learn_sides(tid, []) is None
    assert tr.learn_sides(tid, [Person(figure(400, 200), 0.9)]) is None  # somebody else
    assert tr.learn_sides(tid, right) is False  # taught: ordinary looks swap this person
    tr.update(wrong)
    assert tr.learn_sides(tid, right) is True  # and the next look agrees
    tr.update(wrong)
    assert tr.learn_sides(tid, wrong) is False  # one that disagrees
