"""`pipan live` in a process of its own, with the stand-in models: the two-people scene
played in a loop, at DELAY seconds per frame (a live pace), for tests that kill it.

    python tests/live_child.py DELAY live --source clip.avi --mqtt ...
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipan.pipeline  # noqa: E402
from runtime_fakes import FakeAction, FakePose, Scene, two_people_scene  # noqa: E402


class Looping(Scene):
    def people(self, frame):
        return super().people(frame % self.length)


class Paced(FakePose):
    def __init__(self, scene, delay):
        super().__init__(scene)
        self.delay = delay

    def estimate_timed(self, frame_bgr):
        time.sleep(self.delay)
        return super().estimate_timed(frame_bgr)


def main() -> None:
    delay = float(sys.argv[1])
    pipan.pipeline.load_pose = lambda *a, **k: Paced(Looping(two_people_scene().actors),
                                                     delay)
    pipan.pipeline.load_action = lambda *a, **k: FakeAction()
    # the stand-in reports the scene's people in frame pixels whatever image it is given,
    # so the pipeline must give it whole frames, not regions around the people
    pipan.pipeline.RegionPolicy.region = lambda self, *a, **k: None
    from pipan.cli import main as pipan_main
    sys.argv = ["pipan"] + sys.argv[2:]
    pipan_main()


if __name__ == "__main__":
    main()
