"""Face unlock end to end on real faces: train on s1-s20, quantize, verify s21-s30 (people it never
saw), enrol one of them, unlock on a generated video, and every bad input the commands can meet."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import assert_one_clear_error, shared

from edgecnn.workstation.face.footage import background, blank, enrolment_footage, walk_by, write_video

pytest.importorskip("tensorflow", reason="workstation tests need pip install 'edgecnn[train]'")


def _people(root: Path, folder: Path, numbers: range) -> Path:
    folder.mkdir()
    for i in numbers:
        (folder / f"s{i}").symlink_to(root / f"s{i}", target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One embedder for the whole module: face train + quantize through the CLI, timed."""
    from edgecnn.cli import main

    faces = shared("att_faces")
    tmp = tmp_path_factory.mktemp("face")
    train_dir = _people(faces, tmp / "train", range(1, 21))
    test_dir = _people(faces, tmp / "test", range(21, 31))
    run = tmp / "run"
    start = time.perf_counter()
    for args in (["face", "train", train_dir, "--out", run], ["quantize", run, "--calib-samples", "200"]):
        with pytest.raises(SystemExit) as done:
            main([str(a) for a in args])
        assert done.value.code == 0, args
    return {"faces": faces, "test": test_dir, "run": run, "tmp": tmp, "seconds": time.perf_counter() - start}


@pytest.fixture(scope="module")
def evaluated(trained: dict) -> dict:
    from edgecnn.cli import main

    out = trained["tmp"] / "eval.json"
    with pytest.raises(SystemExit) as done:
        main(["face", "evaluate", "--model", str(trained["run"]), "--data", str(trained["test"]), "--json", str(out)])
    assert done.value.code == 0
    return json.loads(out.read_text())


def test_unseen_people_eer_float_and_int8(trained: dict, evaluated: dict, report_metric) -> None:
    report = evaluated
    for name in ("float", "int8"):
        assert {"eer", "threshold", "far", "frr", "n_genuine", "n_impostor"} <= set(report[name])
        assert report[name]["n_genuine"] == 70 and report[name]["n_impostor"] == 630
    report_metric(f"face embedder on unseen s21-s30: EER float {report['float']['eer'] * 100:.2f} %, "
                  f"int8 {report['int8']['eer'] * 100:.2f} %, mean cosine {report['mean_cosine_float_int8']:.5f}, "
                  f"train + quantize {trained['seconds']:.0f} s, no face in {report['no_face']} images")
    assert report["float"]["eer"] <= 0.10 and report["int8"]["eer"] <= 0.10
    assert abs(report["eer_delta_pp"]) <= 1.0
    nearest = report["nearest_strangers"]
    assert set(nearest) == {f"s{n}" for n in range(21, 31)} and all(len(rows) == 3 for rows in nearest.values())
    threshold = report["int8"]["threshold_at_target_far"]
    for rows in nearest.values():  # nearest first, and "accepted" counts the images at the threshold
        assert [r["max_score"] for r in rows] == sorted((r["max_score"] for r in rows), reverse=True)
        assert all((r["accepted"] > 0) == (r["max_score"] >= threshold) for r in rows)
    accepted = sum(r["accepted"] for rows in nearest.values() for r in rows)
    report_metric(f"look-alikes at the 1 % FAR threshold {threshold:.3f}: {accepted} accepted impostor images "
                  f"among the 3 nearest strangers of each person; s21's nearest: "
                  f"{', '.join(r['stranger'] + ' ' + format(r['max_score'], '.3f') for r in nearest['s21'])}")
    assert report["mean_cosine_float_int8"] >= 0.98
    det = Path(report["plot"])
    assert det.stat().st_size > 10_000 and cv2.imread(str(det)) is not None


def test_parity_refuses_an_embedder(run_cli, trained: dict) -> None:
    assert_one_clear_error(run_cli("parity", trained["run"]), 1, "face embedder")


def _enrol(run_cli, trained: dict, evaluated: dict, gallery: Path, who: str = "s21") -> None:
    photos = gallery.parent / f"enrol_{who}"
    photos.mkdir()
    for i in range(1, 6):
        (photos / f"{i}.pgm").symlink_to(trained["faces"] / who / f"{i}.pgm")
    threshold = evaluated["int8"]["threshold_at_target_far"]
    r = run_cli("face", "enroll", "--name", who, "--images", photos, "--gallery", gallery,
                "--model", trained["run"] / "model_int8.tflite", "--set-threshold", threshold)
    assert r.code == 0, r.err


def test_unlock_only_for_the_enrolled_person_then_lockout(run_cli, trained: dict, evaluated: dict,
                                                          tmp_path: Path, report_metric) -> None:
    gallery = tmp_path / "g.sqlite"
    faces = trained["faces"]
    # enrol as on the device: five shots from the camera (a video of s21 posing with photos 1-5)
    shots = write_video(tmp_path / "enrol.avi", enrolment_footage([faces / "s21" / f"{i}.pgm" for i in range(1, 6)]))
    r = run_cli("face", "enroll", "--name", "s21", "--source", shots, "--shots", 5, "--gallery", gallery,
                "--model", trained["run"] / "model_int8.tflite",
                "--set-threshold", evaluated["int8"]["threshold_at_target_far"])
    assert r.code == 0 and "enrolled s21 with 5 embeddings" in r.out, r.out + r.err
    owner = [faces / "s21" / f"{i}.pgm" for i in range(6, 11)]  # photos not enrolled
    frames = walk_by(owner, 20, seed=1) + blank(30, seed=50)
    # Strangers are people evaluate does not name among s21's three nearest: ORL has look-alikes of
    # s21 (s22, s30) whom a 1 %-FAR threshold accepts on some runs and not others -- that was the
    # "flaky" stranger unlock. They are named by evaluate (test above), not hidden in this video.
    nearest = {row["stranger"] for row in evaluated["nearest_strangers"]["s21"]}
    strangers = [f"s{n}" for n in range(22, 31) if f"s{n}" not in nearest][:4]
    for n, who in enumerate(strangers):
        frames += walk_by([faces / who / f"{i}.pgm" for i in range(1, 11)], 15, seed=100 + 20 * n)
    video = write_video(tmp_path / "walkup.avi", frames)
    events_file = tmp_path / "events.jsonl"
    r = run_cli("face", "unlock", "--source", video, "--gallery", gallery, "--events", events_file)
    assert r.code == 0, r.err
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    report_metric(f"face unlock video (owner 20 frames, strangers {', '.join(strangers)} x 15; s21's nearest "
                  f"{', '.join(sorted(nearest))}): {' '.join(kinds)}")
    unlocks = [e for e in events if e["event"] == "unlock"]
    assert len(unlocks) == 1 and unlocks[0]["name"] == "s21" and unlocks[0]["frame"] < 20
    assert kinds[:2] == ["unlock", "locked"]  # relocked when the owner left
    rejected = [e for e in events if e["event"] == "rejected"]
    assert [e["attempt"] for e in rejected] == [1, 2, 3, 4, 5] and all(e["frame"] >= 50 for e in rejected)
    assert kinds[-1] == "lockout" and events[-1]["seconds"] == 30.0
    replay = tmp_path / "replay.jsonl"  # a recording replays the same events (times come from the file)
    assert run_cli("face", "unlock", "--source", video, "--gallery", gallery, "--events", replay).code == 0
    assert [json.loads(line) for line in replay.read_text().splitlines()] == events


def test_verify_and_the_bad_inputs(run_cli, trained: dict, evaluated: dict, tmp_path: Path) -> None:
    gallery = tmp_path / "g.sqlite"
    _enrol(run_cli, trained, evaluated, gallery)
    faces, model = trained["faces"], trained["run"] / "model_int8.tflite"
    r = run_cli("face", "verify", faces / "s21" / "8.pgm", "--gallery", gallery, "--json")
    assert r.code == 0 and json.loads(r.out)["name"] == "s21", r.out + r.err
    r = run_cli("face", "verify", faces / "s26" / "8.pgm", "--gallery", gallery)
    assert r.code == 3 and r.out.startswith("no match"), r.out + r.err
    r = run_cli("face", "verify", shared("coral", "face.jpg"), "--gallery", gallery)
    assert r.code == 3 and "2 faces in face.jpg, verified the largest" in r.err
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), background())
    assert_one_clear_error(run_cli("face", "verify", wall, "--gallery", gallery), 1, "no face found in")
    assert_one_clear_error(run_cli("face", "remove", "nobody", "--gallery", gallery), 2, "'nobody' is not enrolled")
    other = trained["run"] / "model_float32.tflite"
    assert_one_clear_error(run_cli("face", "verify", wall, "--gallery", gallery, "--model", other), 1,
                           "made with another model")
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 3000)
    assert_one_clear_error(run_cli("face", "list", "--gallery", corrupt), 1, "not a usable edgecnn gallery")
    (tmp_path / "people" / "ann").mkdir(parents=True)
    (tmp_path / "people" / "bob").mkdir()
    assert_one_clear_error(run_cli("face", "train", tmp_path / "people", "--out", tmp_path / "r"), 1,
                           "is empty")
    assert_one_clear_error(run_cli("face", "enroll", "--name", "ann", "--images", tmp_path / "people" / "ann",
                                   "--gallery", gallery, "--model", model), 1, "holds no images")
    r = run_cli("face", "remove", "s21", "--gallery", gallery)
    assert r.code == 0 and "removed s21 (5 embeddings)" in r.out
    r = run_cli("face", "list", "--gallery", gallery, "--json")
    assert json.loads(r.out)["people"] == []


def test_evaluate_bad_inputs(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    model = shared("coral", "mobilenet_v1_0.25_128_quant.tflite")
    assert_one_clear_error(run_cli("face", "evaluate", "--model", model, "--data", tmp_path / "nope"), 2,
                           "identity folder not found")
    assert_one_clear_error(run_cli("face", "evaluate", "--model", model, "--data", tmp_path / "empty"), 1,
                           "at least two identity")
    people = _people(shared("att_faces"), tmp_path / "people", range(1, 3))
    (people / "s9").mkdir()
    assert_one_clear_error(run_cli("face", "evaluate", "--model", model, "--data", people), 1,
                           "identity folder 's9'", "holds no images")


def test_demo_needs_enough_people(run_cli, tmp_path: Path) -> None:
    few = _people(shared("att_faces"), tmp_path / "few", range(1, 4))
    assert_one_clear_error(run_cli("face", "demo", few, "--out", tmp_path / "demo"), 1,
                           "has 3 people", "6 or more")


def test_demo_tells_the_whole_story(run_cli, tmp_path: Path, report_metric) -> None:
    r = run_cli("face", "demo", shared("att_faces"), "--out", tmp_path / "demo", "--json", tmp_path / "demo.json")
    assert r.code == 0, r.err
    s = json.loads((tmp_path / "demo.json").read_text())
    unlocks = [e for e in s["events"] if e["event"] == "unlock"]
    assert len(unlocks) == 1 and unlocks[0]["name"] == s["owner"] and unlocks[0]["frame"] < 20
    assert s["events"][-1]["event"] == "lockout" and s["unlock"]["lockouts"] == 1
    assert s["owner"] in s["unseen"] and len(s["unseen"]) == 10 and s["gallery"][0]["embeddings"] == 5
    report_metric(f"face demo on att_faces: int8 EER {s['metrics']['int8']['eer'] * 100:.2f} % on 10 unseen people, "
                  f"{len(s['events'])} events, {s['seconds']:.0f} s")


def test_olivetti_becomes_an_identity_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The download itself needs the network; what edgecnn does with the arrays is checked here."""
    import numpy as np
    import sklearn.datasets

    from edgecnn.workstation.face.demo import olivetti_folder
    from edgecnn.workstation.face.evaluate import identity_images

    rng = np.random.default_rng(0)
    fake = sklearn.utils.Bunch(images=rng.random((12, 64, 64)).astype(np.float32), target=np.repeat(np.arange(3), 4))
    monkeypatch.setattr(sklearn.datasets, "fetch_olivetti_faces", lambda: fake)
    root = olivetti_folder(tmp_path)
    items = identity_images(root)
    assert sorted({who for who, _ in items}) == ["s01", "s02", "s03"] and len(items) == 12
    image = cv2.imread(str(items[0][1]), cv2.IMREAD_GRAYSCALE)
    person, index = int(items[0][0][1:]) - 1, int(items[0][1].stem)
    assert image.shape == (64, 64) and np.abs(image / 255 - fake.images[index]).max() <= 0.5 / 255 + 1e-6
    assert fake.target[index] == person


def test_evaluate_json_keys_unchanged_by_typed_reports(evaluated: dict) -> None:
    from conftest import json_key_paths, keys_before_layout

    missing = keys_before_layout("face_eval") - json_key_paths(evaluated)
    assert not missing, sorted(missing)


def test_budget_and_parity_refuse_an_embedding_run(trained: dict, run_cli) -> None:
    """An embedder's outputs are not classes: top-1 over them would be meaningless (it 'passed')."""
    result = run_cli("quantize", trained["run"], "--max-drop", "1")
    assert_one_clear_error(result, 2, "face embedder", "face evaluate")
    assert_one_clear_error(run_cli("parity", trained["run"]), 1, "face embedder", "face evaluate")


def test_vectorised_far_frr_match_scikit_learn_det_curve() -> None:
    from sklearn.metrics import det_curve

    from edgecnn.face.metrics import rates_at, summarize

    rng = np.random.default_rng(3)
    genuine, impostor = rng.normal(0.7, 0.12, 700), rng.normal(0.25, 0.15, 63000)
    fpr, fnr, thresholds = det_curve(np.r_[np.ones(genuine.size), np.zeros(impostor.size)],
                                     np.r_[genuine, impostor])
    far, frr = rates_at(genuine, impostor, thresholds)
    np.testing.assert_allclose(far, fpr)
    np.testing.assert_allclose(frr, fnr)
    metrics = summarize(genuine, impostor)
    assert 0 < metrics.eer < 0.1 and metrics.n_impostor == 63000
