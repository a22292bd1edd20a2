"""The ``pipan`` command. Each command parses, calls one library function, and prints;
pipan's own errors become a one-line message and a non-zero exit here, in one place."""
from __future__ import annotations

import errno
import os
import sys

import click

from . import __version__
from .errors import MissingDependencyError, PipanError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def _detach_stdout() -> None:
    """Point fd 1 at /dev/null after stdout failed, so the interpreter's final flush of
    what is still buffered does not fail again (with a traceback) at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


class PipanGroup(click.Group):
    """A click group that turns PipanError into ``Error: message`` and its exit code, and
    does the same for an interruption (Ctrl-C, SIGTERM, SIGHUP) and for an output that
    cannot be written (stdout on a full disk or a closed pipe)."""

    def invoke(self, ctx: click.Context):
        from .signals import Terminated
        try:
            return super().invoke(ctx)
        except PipanError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except Terminated as e:
            click.echo(f"Terminated ({e.name}).", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # the reader went away (`| head`): as a shell pipe would
            _detach_stdout()
            ctx.exit(141)
        except OSError as e:
            if e.filename is None and e.errno in (errno.ENOSPC, errno.EIO, errno.EFBIG,
                                                  errno.EDQUOT, errno.EBADF):
                _detach_stdout()
                where = "standard output"
            else:
                where = e.filename or "a file"
            click.echo(f"Error: cannot write to {where} ({e.strerror or e})", err=True)
            ctx.exit(1)


@click.group(cls=PipanGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="pipan")
@click.option("--verbose", "-v", is_flag=True,
              help="Show the native libraries' own messages (LiteRT, OpenCV), hidden by "
                   "default.")
def cli(verbose: bool) -> None:
    """pipan: who is doing what, frame by frame, from a video or a camera, on a Raspberry Pi."""
    from .logs import set_verbose
    set_verbose(verbose)


# --- runtime commands: recognize, live, benchmark ----------------------------------------
# Thin: parse options, call pipan.recognize / pipan.live / pipan.benchmark, print.

DEMO_VIDEO = "models/demo.mp4"


def _source_options(f):
    """Where live frames come from: options shared by live and record."""
    for opt in reversed([
        click.option("--camera", default=None, metavar="INDEX|DEVICE",
                     help="A camera: OpenCV index (0) or device path (/dev/video0)."),
        click.option("--picamera", is_flag=True,
                     help="The Raspberry Pi Camera Module (picamera2)."),
        click.option("--source", default=None, metavar="FILE|URL",
                     help="A video file or stream URL."),
        click.option("--size", default="640x480", show_default=True, metavar="WxH",
                     help="Capture size for --camera/--picamera."),
    ]):
        f = opt(f)
    return f


def _capture_size(camera, picamera: bool, source, size: str):
    """(width, height) of ``--size``, once one source of ``_source_options`` is given."""
    if sum([camera is not None, picamera, source is not None]) != 1:
        raise click.UsageError("give one of --camera, --picamera or --source")
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{size!r} is not WxH", param_hint="--size") from None
    return width, height


def _model_options(f):
    """Options shared by recognize, live and benchmark."""
    for opt in reversed([
        click.option("--threads", type=click.IntRange(1, 64), default=None,
                     help="Interpreter threads (default: PIPAN_THREADS, else up to 4)."),
        click.option("--pose", "pose_backend", type=click.Choice(["pipan", "blazepose"]),
                     default="pipan", show_default=True, help="Pose estimator."),
        click.option("--pose-model", type=click.Path(), default=None,
                     help="Pose model (default: the bundled one; with --pose blazepose "
                          "the folder holding its two .tflite files)."),
        click.option("--action-model", type=click.Path(dir_okay=False), default=None,
                     help="Action model or a head from `pipan learn` (default: the bundled "
                          "model)."),
        click.option("--every", type=click.IntRange(1), default=1, show_default=True,
                     help="Run the pose net on one frame in N (faster, coarser)."),
        click.option("--min-score", type=click.FloatRange(0, 1), default=0.0,
                     show_default=True, help="Ignore detected people scoring below this."),
        click.option("--min-duration", type=click.FloatRange(0), default=0.5,
                     show_default=True, help="Seconds an action must last to start a segment."),
        click.option("--half-life", type=click.FloatRange(0), default=1.0, show_default=True,
                     help="Seconds after which a past frame counts half in the action "
                          "model's judgement (0: never forget)."),
        click.option("--smooth/--no-smooth", default=None,
                     help="Smooth each person's keypoints over time (One-Euro filter) "
                          "before the action model  [default: smooth]."),
    ]):
        f = opt(f)
    return f


def _route_logging(log_file=None):
    from .logs import route_logging
    try:
        return route_logging(log_file)
    except OSError as e:
        raise click.BadParameter(f"{log_file}: {e.strerror}", param_hint="--log") from None


def _smoother(smooth):
    """--smooth/--no-smooth -> the Pipeline's ``smoother`` (unset: the pipeline default)."""
    from .pipeline import SMOOTH_KEYPOINTS
    return SMOOTH_KEYPOINTS if smooth is None else bool(smooth)


def _pipeline(fps, pose_backend, pose_model, action_model, threads, every, min_score,
              min_duration, half_life, smooth=None):
    from . import pipeline as P
    pose = P.load_pose(pose_backend, pose_model, threads)
    action = P.load_action(action_model, threads, P.action_decay(fps, half_life, every))
    return P.Pipeline(pose, action, every=every, min_score=min_score,
                      min_duration=min_duration, smoother=_smoother(smooth))


def _event_options(f):
    """Options shared by recognize and live: where events go besides the terminal."""
    for opt in reversed([
        click.option("--mqtt", default=None, metavar="URL",
                     help="Publish events to an MQTT broker: mqtt://[user:password@]host"
                          "[:port]/topic/prefix (mqtts:// for TLS). Needs pipan[mqtt]."),
        click.option("--ha-discovery", is_flag=True,
                     help="With --mqtt: announce a 'pipan LABEL' sensor per action to "
                          "Home Assistant (MQTT discovery)."),
        click.option("--webhook", "webhooks", multiple=True, metavar="URL",
                     help="POST each event as JSON to URL (repeatable)."),
        click.option("--alert", "alerts", multiple=True, metavar="LABEL",
                     help="Mark the events of this action as alerts (repeatable)."),
    ]):
        f = opt(f)
    return f


def _check_event_options(mqtt, ha_discovery, webhooks):
    """Validate --mqtt/--webhook before any work; returns the parsed MQTT target."""
    from .sinks.webhook import check_webhook_url
    target = None
    if mqtt is not None:
        from .sinks.mqtt import require_paho, parse_mqtt_url
        try:
            target = parse_mqtt_url(mqtt)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--mqtt") from None
        require_paho()  # a missing package is said now, not after the models load
    elif ha_discovery:
        raise click.UsageError("--ha-discovery needs --mqtt")
    for url in webhooks:
        try:
            check_webhook_url(url)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--webhook") from None
    return target


def _event_dispatcher(target, ha_discovery, webhooks, alerts, labels, extra=()):
    """The sinks' dispatcher (None when there is no sink); checks --alert labels."""
    unknown = [a for a in alerts if a not in labels]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not an action of the model "
                                 f"({', '.join(labels)})", param_hint="--alert")
    from .sinks import Dispatcher
    from .sinks.webhook import WebhookSink
    sinks = list(extra) + [WebhookSink(u) for u in webhooks]
    if target is not None:
        from .sinks.mqtt import MqttSink
        sinks.append(MqttSink(target, labels, ha_discovery=ha_discovery))
    return Dispatcher(sinks) if sinks else None


#: Seconds pipan gives its sinks to deliver what is waiting when it stops.
FLUSH_S = 1.0


@cli.command()
@click.argument("video", required=False)
@click.option("--demo", is_flag=True, help="Run on the short sample video bundled with pipan.")
@click.option("--json", "as_json", is_flag=True,
              help="Print segments as JSON Lines on stdout (and nothing else).")
@click.option("--frames-json", type=click.Path(dir_okay=False), default=None,
              help="Write per-frame keypoints and probabilities as JSON Lines to FILE.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the annotated video (skeletons, ids, actions, FPS) to FILE.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write the timeline chart (PNG/JPEG) to FILE.")
@_event_options
@_model_options
def recognize(video, demo, as_json, frames_json, output, plot, mqtt, ha_discovery, webhooks,
              alerts, threads, pose_backend, pose_model, action_model, every, min_score,
              min_duration, half_life, smooth):
    """Recognise who does what in VIDEO: a timeline of actions per person.

    Each segment reads "START - END s  LABEL  (CONFIDENCE)". The confidence, from 0 to 1, is
    the action model's probability for that label averaged over the segment's frames: 1
    means it was sure on every frame; near 1/N (N actions) it was guessing. It is not a
    calibrated chance of being right. "unknown" means nothing the model knows fits. A
    fall, sit_down or stand_up is a short event followed by the state it ends in (lie,
    sit, stand); `pipan info` lists the model's actions.

    \b
    Examples:
      pipan recognize --demo
      pipan recognize clip.mp4 --output annotated.mp4 --plot timeline.png
      pipan recognize clip.mp4 --json > segments.jsonl
      pipan recognize clip.mp4 --mqtt mqtt://localhost/pipan --alert wave
    """
    from pathlib import Path

    from .errors import VideoError
    from .events import SEGMENT_END, EventMaker
    from .outputs import check_output_paths
    from .recognize import format_timeline, recognize as run
    from .signals import signals_as_interrupts
    from .video import VideoFileSource, is_url

    if demo == (video is not None):
        raise click.UsageError("give a VIDEO or --demo (one of them)")
    target = _check_event_options(mqtt, ha_discovery, webhooks)
    if demo:
        video = str(Path(__file__).parent / DEMO_VIDEO)
        if not Path(video).is_file():
            raise VideoError("the demo video is not bundled with this installation "
                             f"({DEMO_VIDEO} is missing)")
    if is_url(video):
        raise VideoError(f"{video}: recognize reads video files; for a stream use "
                         f"`pipan live --source {video}`")
    undo = _route_logging()
    bus = None
    ends = []
    try:
        check_output_paths(output, plot, frames_json, inputs=[video])
        with signals_as_interrupts(), VideoFileSource(video) as source:
            pipe = _pipeline(source.info.fps, pose_backend, pose_model, action_model, threads,
                             every, min_score, min_duration, half_life, smooth)
            bus = _event_dispatcher(target, ha_discovery, webhooks, alerts, pipe.labels)
            maker = EventMaker(source.info.name, alerts)

            def on_result(r):
                evs = maker.frame(r)
                if bus is not None:
                    bus.publish_all(evs)
                ends.extend(ev for ev in evs if ev.type == SEGMENT_END)
            show_bar = sys.stderr.isatty() and source.info.frame_count
            if show_bar:
                with click.progressbar(length=source.info.frame_count, file=sys.stderr,
                                       label="Recognising") as bar:
                    result = run(source, pipe, output=output, plot=plot,
                                 frames_json=frames_json, progress=bar.update,
                                 on_result=on_result)
            else:
                result = run(source, pipe, output=output, plot=plot, frames_json=frames_json,
                             on_result=on_result)
    finally:
        if bus is not None:
            bus.close(FLUSH_S)
        undo()
    if as_json:
        for ev in sorted(ends, key=lambda e: (e.person, e.start)):
            click.echo(ev.to_json())
        return
    click.echo(format_timeline(result.segments, result.people_seen, result.min_duration))
    T = result.times
    click.echo(f"{T.frames} frames, {T.frames / result.info.fps:.1f} s of video, "
               f"in {T.wall:.1f} s ({T.fps:.1f} FPS)", err=True)


@cli.command()
@_source_options
@click.option("--json", "as_json", is_flag=True, help="Print segments as JSON Lines on stdout.")
@click.option("--jsonl", type=click.Path(dir_okay=False), default=None,
              help="Append segments as JSON Lines to FILE (flushed per segment).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), default=None,
              help="Append segments, status and warnings, with timestamps, to FILE.")
@click.option("--show", is_flag=True, help="Show the annotated video in a window.")
@click.option("--serve", default=None, metavar="[HOST:]PORT",
              help="Serve the annotated stream as MJPEG (default host 127.0.0.1); at most "
                   "8 viewers at once, an idle connection closed after 10 s. Its page "
                   "draws a live timeline per person.")
@click.option("--status-every", type=click.FloatRange(0.1), default=None,
              help="Seconds between status lines (default: 1 on a terminal, else 60).")
@click.option("--retry", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Seconds to retry a camera or stream that stops delivering frames.")
@click.option("--max-frames", type=click.IntRange(1), default=None,
              help="Stop after N frames.")
@_event_options
@_model_options
def live(camera, picamera, source, size, as_json, jsonl, log_file, show, serve, status_every,
         retry, max_frames, mqtt, ha_discovery, webhooks, alerts, threads, pose_backend,
         pose_model, action_model, every, min_score, min_duration, half_life, smooth):
    """Recognise actions live from a camera or stream; report each segment as it ends.

    \b
    Examples:
      pipan live --camera 0
      pipan live --picamera --serve 8080
      pipan live --source rtsp://cam.local/stream --jsonl actions.jsonl --log pipan.log
      pipan live --camera 0 --mqtt mqtt://user@broker.local/home/pipan --ha-discovery
      pipan live --camera 0 --webhook http://nodered.local:1880/pipan --alert wave
    \b
    Exit status: 0 when the source ends, --max-frames is reached or SIGTERM/SIGHUP arrives;
    130 after Ctrl-C; 1 for a lost camera or bad input; 3 for a missing package. Open
    segments are closed and files flushed in every case.
    """
    import logging
    import signal
    import threading

    from .events import SEGMENT_END, EventMaker
    from .live import check_display, run_live
    from .recognize import segment_line
    from .serve import FrameServer, parse_address
    from .signals import TERMINATING
    from .video import open_source

    width, height = _capture_size(camera, picamera, source, size)
    address = None
    if serve is not None:
        try:
            address = parse_address(serve)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--serve") from None
    target = _check_event_options(mqtt, ha_discovery, webhooks)
    tty = sys.stderr.isatty()
    if status_every is None:
        status_every = 1.0 if tty else 60.0
    log = logging.getLogger("pipan")
    undo = _route_logging(log_file)
    server = None
    bus = None
    jf = None
    stop = threading.Event()
    old_term = None
    try:
        if show:
            check_display()
        src = open_source(source, camera=camera, picamera=picamera, retry_s=retry,
                          width=width, height=height)
        with src:
            pipe = _pipeline(src.info.fps, pose_backend, pose_model, action_model, threads,
                             every, min_score, min_duration, half_life, smooth)
            if jsonl:
                try:
                    jf = open(jsonl, "a", encoding="utf-8")
                except OSError as e:
                    raise click.BadParameter(f"{jsonl}: {e.strerror}", param_hint="--jsonl")
            hub = []
            if address is not None:
                from .sinks.sse import PAGE, EventHub
                hub = [EventHub()]
                server = FrameServer(*address, page=PAGE, routes={"/events": hub[0].serve})
                click.echo(f"Serving the annotated stream on {server.url}", err=True)
            bus = _event_dispatcher(target, ha_discovery, webhooks, alerts, pipe.labels, hub)
            maker = EventMaker(src.info.name, alerts, started_at=lambda: src.started_at)
            if threading.current_thread() is threading.main_thread():
                old_term = {s: signal.signal(s, lambda *_: stop.set())
                            for s in TERMINATING}
            log.info("started: %s (%dx%d)", src.info.name, src.info.width, src.info.height)

            def on_result(r):
                evs = maker.frame(r)
                if bus is not None:
                    bus.publish_all(evs)
                for ev in evs:
                    if ev.type != SEGMENT_END:
                        continue
                    line = ev.to_json()
                    if tty and not as_json:
                        click.echo("\r\033[K", nl=False, err=True)
                    click.echo(line if as_json else segment_line(ev))
                    if jf is not None:
                        try:
                            jf.write(line + "\n")
                            jf.flush()
                        except OSError as e:
                            raise PipanError(f"{jsonl}: cannot write ({e.strerror or e})") \
                                from None
                    log.info("segment %s", line)

            def on_status(st):
                if tty:
                    click.echo(f"\r\033[K{st}", nl=False, err=True)
                else:
                    click.echo(str(st), err=True)
                log.info("status %s", st)
                if bus is not None:
                    bus.publish(maker.status(st.time, st.fps, st.people, st.uptime,
                                             st.frames, sum(bus.dropped.values())))

            how = run_live(src, pipe, on_segment=lambda s: None, on_status=on_status,
                           status_every=status_every, show=show, server=server,
                           max_frames=max_frames, stop=stop, on_result=on_result)
            if tty:
                click.echo("\r\033[K", nl=False, err=True)
            summary = f"{how} after {pipe.times.frames} frames ({pipe.times.fps:.1f} FPS)"
            click.echo(summary[0].upper() + summary[1:], err=True)
            log.info("%s", summary)
    finally:
        for s, h in (old_term or {}).items():
            signal.signal(s, h)
        if bus is not None:
            bus.close(FLUSH_S)
        if server is not None:
            server.close()
        if jf is not None:
            try:
                jf.close()
            except OSError:  # already reported by the failed write
                pass
        undo()
    if how == "interrupted":
        click.echo("Interrupted; open segments closed.", err=True)
        sys.exit(130)


@cli.command()
@click.argument("video", required=False)
@click.option("--frames", type=click.IntRange(1), default=None,
              help="Use the first N frames only.")
@click.option("--repeats", type=click.IntRange(1), default=3, show_default=True,
              help="Passes (medians reported).")
@click.option("--draw", is_flag=True, help="Include drawing the annotations.")
@click.option("--no-reference", is_flag=True,
              help="Skip the decode + pose alone reference passes.")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="cpu: process CPU time, steadier on a busy machine (use --threads 1).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_model_options
def benchmark(video, frames, repeats, draw, no_reference, clock, as_json, threads,
              pose_backend, pose_model, action_model, every, min_score, min_duration, half_life,
              smooth):
    """Time each stage per frame on VIDEO (default: the demo video) and end-to-end FPS,
    against decoding + the pose net alone.

    \b
    Stages: decode (video), pose (net), maps (decoding heatmaps/PAFs into people),
    tracking, action (all people's steps), segments, drawing (with --draw).
    """
    import json
    from pathlib import Path

    from . import pipeline as P
    from .benchmark import benchmark as run, format_report
    from .errors import VideoError
    from .video import VideoFileSource

    if video is None:
        video = str(Path(__file__).parent / DEMO_VIDEO)
        if not Path(video).is_file():
            raise VideoError("give a VIDEO (the demo video is not bundled here)")
    undo = _route_logging()
    try:
        with VideoFileSource(video) as src:  # a clear error before loading models
            fps = src.info.fps
        pose = P.load_pose(pose_backend, pose_model, threads)
        action = P.load_action(action_model, threads, P.action_decay(fps, half_life, every))
        progress = None if as_json else (lambda m: click.echo(m, err=True))
        result = run(video, pose, action, frames=frames, repeats=repeats, draw=draw,
                     reference=not no_reference, clock=clock, progress=progress, every=every,
                     min_score=min_score, min_duration=min_duration,
                     smoother=_smoother(smooth))
    finally:
        undo()
    click.echo(json.dumps(result) if as_json else format_report(result))


# --- pipan convert / pipan info ---------------------------------------------------------

TRAIN_INSTALL = 'pip install -e ".[train]"'


def _print_conversion_table(out: str, report: dict) -> None:
    acc, lat, v = report["accuracy"], report["latency_ms"], report["validation"]

    def fmt(x) -> str:
        return "n/a" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)
    rows = [
        ("model", f"{out} ({report['kind']}, {report['io']} I/O)"),
        ("size", f"{report['size_bytes']['int8']:,} bytes int8, "
                 f"{report['size_bytes']['float32']:,} bytes float32"),
        ("float ops", ", ".join(f"{k} x{n}" for k, n in report["float_ops"].items())
         or "none"),
        (acc["metric"], f"float {fmt(acc['float'])}  int8 {fmt(acc['int8'])}  "
                        f"drop {fmt(acc['drop'])} (max {acc['max_drop']:g})"
                        + ("  FORCED" if acc["forced"] else "")
                        + ("" if acc["checked"] else "  (not checked: nothing to measure)")),
    ]
    if report["kind"] == "action":
        rows.append(("top-1 agreement", f"{fmt(v['top1_agreement_clips_pct'])}% of "
                                        f"{v['clips']} clips, "
                                        f"{fmt(v['top1_agreement_frames_pct'])}% of frames"))
    else:
        rows.append(("heatmap peaks", f"{fmt(v['peak_agreement_pct'])}% agree "
                                      f"({v['strong_peaks']} peaks, {v['images']} images)"))
        if v.get("decoded"):
            rows.append(("keypoint shift", f"{fmt(v['keypoint_shift_px'])} px mean"))
    rows.append(("latency (median)", f"int8 {lat['int8_median']:.3f} ms "
                                     f"({lat['int8_invoke_median']:.3f} ms in the "
                                     f"interpreter), float32 {lat['float32_median']:.3f} ms, "
                                     f"{lat['threads']} thread(s), {lat['runtime']}"))
    width = max(len(k) for k, _ in rows)
    for k, val in rows:
        click.echo(f"{k:<{width}}  {val}")


@cli.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--calibration", "-c", required=True, type=click.Path(path_type=str),
              help="Images or a COCO keypoints JSON (pose), a skeleton dataset .npz (action).")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The .tflite to write; the report goes beside it as .json.")
@click.option("--io", "io_type", type=click.Choice(["float", "int8"]), default="float",
              show_default=True, help="Input/output tensor type (the ops are int8 either way).")
@click.option("--allow-float-ops", is_flag=True, help="Accept ops left in float.")
@click.option("--max-drop", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Most accuracy points int8 may lose against float.")
@click.option("--force", is_flag=True, help="Write the model even past --max-drop.")
@click.option("--stages", type=click.IntRange(min=1), default=None,
              help="Pose stages to keep (default: the exporter's).")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Calibration samples (pose: images, default 100; action: frames, 2000).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed drawing the calibration and held-out samples.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Interpreter threads for validation and latency (default: as the runtime).")
@click.option("--range-percentile", type=click.FloatRange(50, 100, min_open=True), default=None,
              help="Int8 activation ranges from this percentile of the calibration samples' "
                   "extremes; 100: their min and max (default: action 95, pose 100).")
def convert(model: str, calibration: str, out: str, io_type: str, allow_float_ops: bool,
            max_drop: float, force: bool, stages, samples, seed: int, threads,
            range_percentile) -> None:
    """Quantise a trained MODEL directory to a validated full-int8 TFLite model.

    \b
    Examples:
      pipan convert runs/action --calibration jhmdb14_split1.npz --out action.tflite
      pipan convert runs/pose --calibration coco-mini/ --out pose.tflite --stages 2
    """
    import json
    import os
    from pathlib import Path

    from .fileio import StagedOutputs
    from .logs import quiet_native_stderr

    out_path = Path(out)
    if out_path.suffix.lower() == ".json":
        raise PipanError(f"--out {out}: the model file must not end in .json "
                         f"(the report is written beside it as .json)")
    # The converter is workstation code (TensorFlow): loaded only here, and a runtime
    # install (a Pi) says what to install instead of failing on the import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        with quiet_native_stderr():  # and what it prints on fd 2 regardless
            import tensorflow  # noqa: F401
            from converters.convert import convert as run
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in ("tensorflow", "keras", "converters",
                                               "training"):
            raise
        raise MissingDependencyError(
            f"pipan convert needs TensorFlow and the workstation packages: from a pipan "
            f"checkout, run {TRAIN_INSTALL}") from None
    result = run(model, calibration, io=io_type, allow_float_ops=allow_float_ops,
                 max_drop=max_drop, force=force, stages=stages, samples=samples, seed=seed,
                 threads=threads, range_percentile=range_percentile)
    try:  # the model and its report, committed together
        with StagedOutputs() as staged:
            staged.path(out_path).write_bytes(result.model_bytes)
            staged.path(out_path.with_suffix(".json")).write_text(
                json.dumps(result.report, indent=2, sort_keys=True) + "\n")
            staged.commit()
    except OSError as e:
        raise PipanError(f"{out}: cannot write ({e.strerror or e})") from None
    _print_conversion_table(out, result.report)


@cli.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(model: str, as_json: bool) -> None:
    """Show a TFLite model's pipan metadata, inputs and outputs, or what a learned head
    (`pipan learn`) was taught from (no TensorFlow needed).

    \b
    Example:
      pipan info pipan/models/action.tflite
    """
    import json

    from .head import describe, head_json, is_head_file, load_head
    from .runtime import TFLiteModel

    if is_head_file(model):
        head = load_head(model)
        if as_json:
            click.echo(json.dumps(dict(head_json(head), model=model), indent=2,
                                  sort_keys=True))
        else:
            click.echo(f"{model}: pipan learned action head")
            click.echo("\n".join(f"  {line}" for line in describe(head).splitlines()))
        return
    m = TFLiteModel(model, threads=1)

    def tensors(details: dict) -> dict:
        out = {}
        for name in sorted(details):
            d = details[name]
            q = d.get("quantization_parameters") or {}
            scales = [float(s) for s in q.get("scales", [])]
            zps = [int(z) for z in q.get("zero_points", [])]
            out[name] = {"shape": [int(s) for s in d["shape"]],
                         "dtype": getattr(d["dtype"], "__name__", str(d["dtype"])),
                         "scale": scales[0] if len(scales) == 1 else scales or None,
                         "zero_point": zps[0] if len(zps) == 1 else zps or None}
        return out
    data = {"model": model, "metadata": m.metadata or None, "signature": m.signature,
            "inputs": tensors(m.input_details), "outputs": tensors(m.output_details)}
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    meta = m.metadata
    click.echo(f"{model}: " + (f"pipan {meta.get('kind')} model" if meta else
                               "no pipan metadata (not made by pipan convert)"))
    for key in sorted(meta or {}, key=lambda k: (k != "kind", k)):
        val = meta[key]
        if val is None:  # a key that does not apply to this kind of model
            continue
        if isinstance(val, list):
            val = ", ".join(map(str, val))
        click.echo(f"  {key}: {val}")
    for title, group in (("inputs", data["inputs"]), ("outputs", data["outputs"])):
        click.echo(f"{title} (signature {m.signature}):")
        for name, t in group.items():
            q = f", scale {t['scale']:.6g}, zero point {t['zero_point']}" \
                if isinstance(t["scale"], float) else ""
            click.echo(f"  {name}: {t['dtype']} {tuple(t['shape'])}{q}")


# --- pipan learn / pipan evaluate ---------------------------------------------------------

@cli.command()
@click.argument("examples", nargs=-1)
@click.option("--data", "data", multiple=True, type=click.Path(dir_okay=False),
              help="A skeleton dataset .npz: its training clips (test 0) teach.")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False),
              help="The head file to write (load it with --action-model).")
@click.option("--keep", is_flag=True,
              help="Add the new actions to the base model's (default: replace them).")
@click.option("--threshold", type=click.FloatRange(0, min_open=True), default=None,
              help="Distance beyond which a person's action is 'unknown' "
                   "(default: chosen by cross-validation on the examples).")
@click.option("--mirror/--no-mirror", default=None,
              help="Also teach each example mirrored left-right (the same action with the "
                   "other hand or in the other direction). Default: whichever "
                   "cross-validates better on the examples; mirrored with one example per "
                   "action.")
@click.option("--action-model", "base_model", type=click.Path(dir_okay=False), default=None,
              help="The base action model (default: the bundled one).")
@click.option("--pose", "pose_backend", type=click.Choice(["pipan", "blazepose"]),
              default="pipan", show_default=True, help="Pose estimator for video clips.")
@click.option("--pose-model", type=click.Path(), default=None,
              help="Pose model (default: the bundled one; with --pose blazepose the folder "
                   "holding its two .tflite files).")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Interpreter threads (default: PIPAN_THREADS, else up to 4).")
def learn(examples, data, out, keep, threshold, mirror, base_model, pose_backend, pose_model,
          threads) -> None:
    """Teach pipan new actions from a few EXAMPLES and write a head file to --out.

    EXAMPLES: a folder with one subfolder of video clips per action (the folder name is
    the label; the person who moves most in a clip is the one taught), or one clip with
    a time range and a label, CLIP@START-END:LABEL (seconds).

    \b
    Examples:
      pipan learn examples/ --out mine.npz
      pipan learn hall.mp4@3.0-5.5:wave hall.mp4@9-12:squat --out mine.npz --keep
      pipan learn --data skeletons.npz --out mine.npz
      pipan recognize clip.mp4 --action-model mine.npz
    """
    from .learn import run_learn
    if not examples and not data:
        raise click.UsageError("give EXAMPLES (folders or CLIP@START-END:LABEL) or --data")
    learned = run_learn(examples, data, out, keep=keep, threshold=threshold,
                        mirror=mirror, base_model=base_model, pose_backend=pose_backend,
                        pose_model=pose_model, threads=threads,
                        progress=lambda m: click.echo(m, err=True))
    from .learn import format_learned
    click.echo(f"learned {len(learned.counts)} actions from "
               f"{sum(learned.counts.values())} examples in {learned.seconds:.2f} s"
               + (" (added to the base model's)" if keep else ""))
    click.echo(format_learned(learned))
    click.echo(f"wrote {out}")


@cli.command()
@click.option("--data", required=True, type=click.Path(dir_okay=False),
              help="A skeleton dataset .npz; its test clips (test 1) are scored.")
@click.option("--action-model", type=click.Path(dir_okay=False), default=None,
              help="Action model or learned head (default: the bundled model).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="Interpreter threads (default: PIPAN_THREADS, else up to 4).")
def evaluate(data, action_model, as_json, threads) -> None:
    """Accuracy of the runtime's streaming int8 action model on a dataset's test clips
    (every clip when the file has no test column), each streamed as one person.

    \b
    Example:
      pipan evaluate --data jhmdb14_split1.npz --action-model mine.npz --json
    """
    import json

    from .dataset import load
    from .evaluate import evaluate as run
    from .pipeline import load_action

    dataset = load(data)
    scores = run(load_action(action_model, threads), dataset)
    if as_json:
        click.echo(json.dumps({k: scores[k] for k in
                               ("accuracy", "per_class", "clips", "by_fraction", "skipped")}))
        return
    click.echo(f"accuracy {scores['accuracy']:.4f} on {scores['clips']} clips"
               + (f" ({scores['skipped']} skipped: labels the model does not know)"
                  if scores["skipped"] else ""))
    for name, acc in scores["per_class"].items():
        click.echo(f"  {name:>16s} {acc:.3f}")


@cli.command()
@click.option("--label", required=True, help="The action being recorded (names the folder).")
@_source_options
@click.option("--count", type=click.IntRange(1), default=5, show_default=True,
              help="Clips to record.")
@click.option("--seconds", type=click.FloatRange(0, min_open=True), default=3.0,
              show_default=True, help="Length of each clip.")
@click.option("--countdown", type=click.FloatRange(0), default=3.0, show_default=True,
              help="Seconds to get ready before each clip.")
@click.option("--out", "folder", type=click.Path(file_okay=False), default="examples",
              show_default=True, help="Examples folder (clips go into FOLDER/LABEL/).")
def record(label, camera, picamera, source, size, count, seconds, countdown, folder) -> None:
    """Record example clips of one action for `pipan learn`: a countdown, then the clip,
    COUNT times, saved as FOLDER/LABEL/N.mp4.

    \b
    Examples:
      pipan record --camera 0 --label wave --count 5 --seconds 3
      pipan learn examples/ --out mine.npz
    """
    from .record import record as run
    from .video import open_source

    width, height = _capture_size(camera, picamera, source, size)
    with open_source(source, camera=camera, picamera=picamera, width=width,
                     height=height) as src:
        paths = run(src, folder, label, count=count, seconds=seconds, countdown=countdown,
                    say=lambda m: click.echo(m, err=True))
    click.echo(f"recorded {len(paths)} clip(s) of {label!r} in {folder}/{label}/")
    if len(paths) < count:
        raise PipanError(f"the source ended after {len(paths)} of {count} clips")


@cli.command("fetch-blazepose")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Folder for the two files (default: ~/.cache/pipan/blazepose).")
def fetch_blazepose(dest) -> None:
    """Download BlazePose's two model files (from the mediapipe 0.10.18 wheel, with pip;
    mediapipe is not installed) for `--pose blazepose` and teacher labelling."""
    from .blazepose import fetch_models
    det, lmk = fetch_models(dest)
    click.echo(f"{det}\n{lmk}")


def main() -> None:
    cli(prog_name="pipan")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
