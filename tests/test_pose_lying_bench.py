"""The rules of benchmarks/pose_lying.py: which reference people lie, and what of them a
reported person finds."""
import numpy as np

from benchmarks.pose_lying import judge, lying
from pipan.types import Person


def _lying_person():
    """A person lying along x: head at x=100, hips at 250, knees at 330 (COCO-18)."""
    kp = np.zeros((18, 3), np.float32)
    pts = {0: (100, 450), 1: (130, 450), 2: (130, 440), 5: (130, 460), 8: (250, 445),
           11: (250, 458), 9: (330, 445), 12: (330, 458), 10: (420, 445), 13: (420, 458),
           14: (95, 445), 15: (95, 455)}
    for j, (x, y) in pts.items():
        kp[j] = (x, y, 0.9)
    return kp


def test_a_person_lying_is_wide_a_person_standing_is_not():
    ref = _lying_person()
    assert lying(ref)
    standing = ref.copy()
    standing[:, [0, 1]] = ref[:, [1, 0]]
    assert not lying(standing)


def test_a_head_alone_is_no_body():
    ref = _lying_person()
    head_only = np.zeros_like(ref)
    for j in (0, 1, 2, 5, 8, 11, 14, 15):  # every joint piled on the head
        head_only[j] = (ref[0, 0] + 5, ref[0, 1], 0.5)
    assert judge(ref, [Person(keypoints=head_only, score=0.3)]) == (True, 0)
    body = ref.copy()
    body[:, 0] += 10  # 10 px off on a 325 px body: within 0.1 of it
    assert judge(ref, [Person(keypoints=body, score=0.3)]) == (True, 4)
    assert judge(ref, []) == (False, 0)


def test_the_body_rule_asks_for_hips_and_knees_that_the_covered_rule_does_not():
    from training.pose.realeval import body_found, found_people
    ref = _lying_person()
    head_only = np.zeros_like(ref)
    for j in (0, 1, 2, 5, 14, 15):  # face and shoulders where they are, nothing else
        head_only[j] = ref[j]
    assert found_people(ref[None], [head_only])[1] == 1  # "covered" by the head alone
    assert not body_found(ref, head_only)
    assert body_found(ref, ref)
    no_legs = ref.copy()
    no_legs[[8, 9, 11, 12], 2] = 0.0  # a reference showing no hips or knees
    assert body_found(no_legs, head_only)
