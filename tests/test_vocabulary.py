"""The bundled vocabulary: states and events named once, label maps onto it complete."""
import pytest

from pipan import vocabulary as V


def test_required_actions_are_there_and_states_do_not_collide_with_events():
    for name in ("walk", "run", "stand", "sit", "lie", "fall", "jump", "pick_up", "wave",
                 "clap", "squat", "kick", "punch", "throw", "unknown"):
        assert name in V.NAMES
    assert len(set(V.NAMES)) == len(V.NAMES)
    assert {"stand", "sit", "lie", "walk"} <= set(V.STATES)
    assert {"fall", "sit_down", "stand_up"} <= set(V.EVENTS)
    for event, state in V.TRANSITIONS.items():
        assert V.BY_NAME[event].kind == "event" and V.BY_NAME[state].kind == "state"


def test_every_map_lands_in_the_vocabulary():
    for name, mapping in V.MAPPINGS.items():
        assert set(mapping.values()) <= set(V.NAMES), name
    # JHMDB's "sit"/"stand" are movements: they map to the events, not the states
    assert V.map_labels(["sit", "stand", "golf"], V.JHMDB) == ("sit_down", "stand_up",
                                                              "unknown")


def test_a_label_without_an_entry_is_an_error_naming_it():
    with pytest.raises(ValueError, match="brush_teeth"):
        V.map_labels(["walk", "brush_teeth"], V.JHMDB)


def test_the_table_lists_every_action():
    table = V.table()
    assert all(f"| {n} |" in table for n in V.NAMES)


def test_the_readme_shows_the_vocabulary_as_defined():
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    assert V.table() in readme.read_text(encoding="utf-8")
