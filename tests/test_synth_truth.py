"""training.synth.truth: scoring a run against a synthetic video's ground truth (numpy only)."""
import numpy as np

from training.synth.truth import label_runs, score
from pipan.types import Segment


def seg(person, a, b, label):
    return Segment(person=person, start=a, end=b, label=label, confidence=0.5)


def truth_of(T=30, fps=10.0):
    kp = np.zeros((T, 18, 3), np.float32)
    kp[:, :, :2] = 100.0
    kp[:, :, 2] = 2
    return {"fps": fps, "height": 200, "labels": ["a", "b", "c"],
            "people": [{"id": 0, "keypoints": kp.tolist(),
                        "segments": [[0.0, 1.5, "a"], [1.5, 3.0, "b"]]}]}


def test_label_runs_merge_a_split_that_only_changes_the_track():
    segs = [seg(1, 0, 1, "a"), seg(2, 1, 2, "a"), seg(2, 2, 3, "b"), seg(3, 3, 4, "a")]
    assert label_runs(segs) == 3
    assert label_runs([]) == 0


def test_score_counts_tracking_labels_and_boundaries():
    truth = truth_of()
    # track 7 sits on the person for the first 20 frames, then nobody is tracked
    tracks_at = [{7: np.array([101.0, 99.0])} if f < 20 else {} for f in range(30)]
    segments = [seg(7, 0.0, 1.2, "a"), seg(7, 1.2, 3.0, "c"), seg(9, 0.0, 3.0, "b")]
    r = score(truth, tracks_at, segments, ["a", "b", "c"], boundary_s=0.5)
    p = r.people[0]
    assert (p.visible, p.matched, p.ids, p.main_ids) == (30, 20, 1, [7])
    assert (p.segments, p.runs, p.true_segments) == (2, 2, 2)  # track 9 is not this person
    assert (p.boundaries, p.boundaries_near) == (1, 1)  # 1.2 s is within 0.5 s of 1.5 s
    assert (p.known, p.right) == (30, 12)  # frames 0-11 "a" right; "c" never right
    far = score(truth, tracks_at, [seg(7, 0.0, 0.4, "a"), seg(7, 0.4, 3.0, "b")],
                ["a", "b", "c"], boundary_s=0.5)
    assert far.people[0].boundaries_near == 0 and far.right == 4 + 15
    assert r.as_dict()["right"] == 12


def test_a_vocabulary_model_is_judged_on_the_programs_vocabulary_names():
    from pipan.vocabulary import NAMES

    truth = truth_of()
    truth["people"][0]["segments"] = [[0.0, 1.5, "sit"], [1.5, 3.0, "golf"]]
    tracks_at = [{7: np.array([101.0, 99.0])} for _ in range(30)]
    # the program "sit" is sitting down; the vocabulary's "sit" is the state
    segments = [seg(7, 0.0, 1.5, "sit_down"), seg(7, 1.5, 3.0, "unknown")]
    assert score(truth, tracks_at, segments, NAMES).right == 30
    wrong = [seg(7, 0.0, 1.5, "sit"), seg(7, 1.5, 3.0, "unknown")]
    assert score(truth, tracks_at, wrong, NAMES).right == 15
    # a model of the programs' own names reads them unchanged
    own = [seg(7, 0.0, 1.5, "sit"), seg(7, 1.5, 3.0, "golf")]
    assert score(truth, tracks_at, own, ["sit", "golf"]).right == 30


def test_true_segments_that_read_the_same_in_the_vocabulary_are_one():
    from pipan.vocabulary import NAMES

    truth = truth_of()
    truth["people"][0]["segments"] = [[0.0, 1.0, "golf"], [1.0, 2.0, "push"],
                                      [2.0, 3.0, "clap"]]
    tracks_at = [{7: np.array([101.0, 99.0])} for _ in range(30)]
    segments = [seg(7, 0.0, 2.1, "unknown"), seg(7, 2.1, 3.0, "clap")]
    p = score(truth, tracks_at, segments, NAMES, boundary_s=0.5).people[0]
    assert (p.true_segments, p.boundaries, p.boundaries_near) == (2, 1, 1)
