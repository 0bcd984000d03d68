"""``digit-cam --source picamera``/``auto`` against a fake picamera2 that behaves like the hardware.

    python -m pytest tests/test_picamera.py

picamera2 is never importable off a Pi, so :class:`FakePicamera2` models what its code and the
camera do (read from picamera2's ``picamera2.py``): ``global_camera_info()`` lists USB webcams too,
with ``/usb`` in the Id, sorted after the CSI modules; a USB webcam cannot give a second (lores)
stream; the ISP crops the sensor to the *main* stream's aspect ratio and scales that crop to the
lores size without keeping its aspect; the video configuration's default controls pin
``FrameDurationLimits`` to 33.3 ms unless overridden; only autofocus modules have ``AfMode`` and
``LensPosition``; a camera held by another process fails in ``__init__`` with picamera2's wrapper
message; ``set_overlay`` needs a started preview and an RGBA array.
"""

from __future__ import annotations

import sys
import time
import types

import cv2
import numpy as np
import pytest

from edge import errors
from edge.cam import display, picam, sources
from edge.cam.picam import PiCameraSettings, StreamSizes, frame_controls, import_failure, pi_modules, stream_sizes
from edge.scenes import render_scene
from tests.test_digit_cam import run_cli

SENSORS = {"imx708": (4608, 2592), "imx219": (3280, 2464), "imx477": (4056, 3040)}  # full sensor sizes
AF_CAMERAS = {"imx708"}  # Camera Module 3; v2 (imx219) and HQ (imx477) focus by hand
CSI = {"Model": "imx708", "Location": 2, "Rotation": 180, "Id": "/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a"}
CSI_V2 = {"Model": "imx219", "Location": 2, "Rotation": 0, "Id": "/base/soc/i2c0mux/i2c@1/imx219@10"}
USB = {"Model": "HD Pro Webcam C920", "Location": 2, "Rotation": 0,
       "Id": "/base/axi/pcie@120000/rp1/usb@200000/usb1/1-1/1-1.2/1-1.2:1.0-046d:082d"}


def centre_crop(image: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred part of ``image`` with width/height ``aspect`` (what the ISP keeps)."""
    height, width = image.shape[:2]
    if width / height > aspect:
        keep = round(height * aspect)
        return image[:, (width - keep) // 2:(width - keep) // 2 + keep]
    keep = round(width / aspect)
    return image[(height - keep) // 2:(height - keep) // 2 + keep]


class FakeRequest:
    def __init__(self, camera):
        self.camera = camera

    def make_array(self, name):
        config = self.camera.config
        main_w, main_h = config["main"]["size"]
        seen = centre_crop(self.camera.world, main_w / main_h)  # the main stream's field of view
        width, height = config[name]["size"]
        image = cv2.resize(seen, (width, height), interpolation=cv2.INTER_AREA)  # lores: no aspect kept
        return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420) if config[name]["format"] == "YUV420" else image

    def release(self):
        self.camera.released += 1


class FakePicamera2:
    """picamera2.Picamera2 as digit-cam uses it, with the hardware behaviours listed above."""

    instances: list = []
    cameras: list[dict] = [CSI]
    world: np.ndarray | None = None  # what the lens sees, at the sensor's aspect ratio
    busy = False  # another process holds the camera

    def __init__(self, camera_num=0):
        self.started = self.closed = False
        self.released = 0
        self.config = None
        self.preview = None
        self.overlays: list[np.ndarray] = []
        FakePicamera2.instances.append(self)
        if FakePicamera2.busy:
            try:
                raise RuntimeError("Failed to acquire camera: Device or resource busy")
            except RuntimeError as error:
                raise RuntimeError("Camera __init__ sequence did not complete.") from error
        self.info = self.global_camera_info()[camera_num]
        self.usb = "/usb" in self.info["Id"]
        self.sensor_resolution = (1920, 1080) if self.usb else SENSORS[self.info["Model"]]
        self.camera_controls = {"ExposureTime": (29, 66_666_666, 20_000), "AnalogueGain": (1.0, 16.0, None)}
        if not self.usb:
            self.camera_controls |= {"FrameDurationLimits": (33_333, 120_000_000, None),
                                     "NoiseReductionMode": (0, 4, 0)}
        if self.info["Model"] in AF_CAMERAS:
            self.camera_controls |= {"AfMode": (0, 2, 0), "AfTrigger": (0, 1, 0), "LensPosition": (0.0, 15.0, 1.0)}

    @staticmethod
    def global_camera_info():
        numbered = [dict(info, Num=number) for number, info in enumerate(FakePicamera2.cameras)]
        return sorted(numbered, key=lambda cam: ("/usb" not in cam["Id"], cam["Id"]), reverse=True)

    def create_video_configuration(self, main=None, lores=None, controls=None):
        defaults = {} if self.usb else {"NoiseReductionMode": 1, "FrameDurationLimits": (33_333, 33_333)}
        return {"main": main, "lores": lores, "controls": defaults | (controls or {})}

    def configure(self, config):
        if self.usb and config.get("lores"):
            raise RuntimeError("Failed to configure camera: a USB camera has one stream, lores is not available")
        if config["lores"] and any(lo > ma for lo, ma in zip(config["lores"]["size"], config["main"]["size"],
                                                              strict=True)):
            raise RuntimeError("lores stream dimensions may not exceed main stream")
        self.config = config

    def start_preview(self, preview=None):
        self.preview = preview

    def set_overlay(self, overlay):
        if self.preview is None:
            raise RuntimeError("No preview specified.")
        if overlay.ndim != 3 or overlay.shape[2] != 4:
            raise RuntimeError("Overlay must be a 4-channel image")
        self.overlays.append(overlay)

    def start(self):
        self.started = True

    def capture_request(self):
        time.sleep(0.005)
        return FakeRequest(self)

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


def world_for(pool, model: str, seed: int = 12):  # noqa: F811 - pool is the fixture's value
    width, height = SENSORS[model]
    return render_scene(np.random.default_rng(seed), pool, width=960, height=round(960 * height / width), n_digits=4)


@pytest.fixture
def fake_picamera2(monkeypatch, pool):  # noqa: F811
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    module.Preview = types.SimpleNamespace(QTGL="QTGL", QT="QT", DRM="DRM", NULL="NULL")
    FakePicamera2.instances = []
    FakePicamera2.cameras = [CSI]
    FakePicamera2.busy = False
    scene = world_for(pool, "imx708")
    FakePicamera2.world = scene.image
    FakePicamera2.scene = scene
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setattr(sources, "service_active", lambda name="digit-cam": False)
    return FakePicamera2


def read_text(image: np.ndarray) -> str:
    from edge import Recognizer

    return Recognizer.from_path().read(image).text


def blob_aspect(grey: np.ndarray) -> float:
    """width / height of the dark blob in a grey image."""
    ys, xs = np.nonzero(grey < 128)
    return (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)


# --- pure helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("sensor", "main", "lores"), [
    ((4608, 2592), (1280, 720), (640, 360)),  # Camera Module 3: 16:9
    ((3280, 2464), (1280, 962), (640, 480)),  # v2: 4:3 (1.331)
    ((4056, 3040), (1280, 960), (640, 480)),  # HQ
    ((1456, 1088), (1280, 956), (640, 478)),  # Global Shutter
])
def test_stream_sizes_keep_the_sensor_aspect_in_both_streams(sensor, main, lores):
    sizes = stream_sizes(sensor)
    assert sizes == StreamSizes(main, lores)
    assert all(v % 2 == 0 for v in (*sizes.main, *sizes.lores))
    assert abs(sizes.main[0] / sizes.main[1] - sizes.lores[0] / sizes.lores[1]) < 0.01


def test_usb_cameras_are_not_pi_modules():
    assert pi_modules(FakePicamera2.global_camera_info()) == [0]
    listed = sorted([dict(USB, Num=0), dict(CSI, Num=1)], key=lambda c: ("/usb" not in c["Id"], c["Id"]),
                    reverse=True)
    assert [c["Model"] for c in listed] == ["imx708", USB["Model"]]  # picamera2 sorts USB last
    assert pi_modules(listed) == [0] and pi_modules([USB]) == []


def test_frame_controls_focus_and_frame_length():
    af = {"AfMode": (0, 2, 0), "LensPosition": (0.0, 15.0, 1.0)}
    assert frame_controls(PiCameraSettings(), af) == {"FrameDurationLimits": (33_333, 100_000), "AfMode": 2}
    assert frame_controls(PiCameraSettings(lens_position=4, max_frame_ms=200), af) == {
        "FrameDurationLimits": (33_333, 200_000), "AfMode": 0, "LensPosition": 4.0}
    assert frame_controls(PiCameraSettings(max_frame_ms=5), {}) == {"FrameDurationLimits": (33_333, 33_333)}
    with pytest.raises(picam.LensPositionError, match="0-15"):
        frame_controls(PiCameraSettings(lens_position=20), af)


def test_import_failures_say_what_to_do():
    abi = import_failure(ValueError("numpy.dtype size changed, may indicate binary incompatibility. "
                                    "Expected 96 from C header, got 88 from PyObject"))
    assert "constraints-bookworm.txt" in str(abi) and "numpy.dtype size changed" in str(abi)
    assert "apt install -y python3-picamera2" in str(import_failure(ImportError("No module named 'picamera2'")))


# --- the source through digit-cam ------------------------------------------------------------

@pytest.mark.parametrize("source", ["picamera", "auto"])
def test_picamera_source_uses_the_lores_yuv_stream(fake_picamera2, source, capsys):
    code, records, _ = run_cli(["--source", source, "--frames", "6", "--json"], capsys)
    assert code == errors.OK
    camera = fake_picamera2.instances[-1]
    assert camera.config["lores"]["format"] == "YUV420"
    assert camera.closed and not camera.started  # released on the way out
    assert camera.released >= 6
    # The Y plane of the lores stream reads exactly as the same view in BGR would.
    assert records and records[0]["text"] == read_text(cv2.resize(fake_picamera2.world, (640, 360),
                                                                  interpolation=cv2.INTER_AREA))
    assert records[0]["frame_size"] == [640, 360] and records[0]["source"] == "picamera"


@pytest.mark.parametrize("model", ["imx708", "imx219"])
def test_digits_are_not_squashed_whatever_the_sensor(fake_picamera2, pool, model, capsys):  # noqa: F811
    fake_picamera2.cameras = [CSI if model == "imx708" else CSI_V2]
    width, height = SENSORS[model]
    world = np.full((round(960 * height / width), 960, 3), 255, np.uint8)
    cv2.circle(world, (480, world.shape[0] // 2), 100, (0, 0, 0), -1)
    fake_picamera2.world = world
    source = picam.PicameraSource(PiCameraSettings())
    with source:
        frame = source.read()
    main, lores = (fake_picamera2.instances[-1].config[s]["size"] for s in ("main", "lores"))
    assert main[0] / main[1] == pytest.approx(lores[0] / lores[1], abs=0.01)
    grey = frame.image[:lores[1]]  # the Y plane of YUV420
    assert blob_aspect(grey) == pytest.approx(1.0, abs=0.04)


def test_the_fake_squashes_like_the_hardware_with_mismatched_streams(fake_picamera2):
    """The old configuration (16:9 main, 4:3 lores) must squash digits in the fake too."""
    world = np.full((540, 960, 3), 255, np.uint8)
    cv2.circle(world, (480, 270), 100, (0, 0, 0), -1)
    camera = FakePicamera2(0)
    camera.world = world
    camera.configure(camera.create_video_configuration(main={"size": (1280, 720), "format": "RGB888"},
                                                       lores={"size": (640, 480), "format": "YUV420"}))
    lores = camera.capture_request().make_array("lores")[:480]
    assert blob_aspect(lores) == pytest.approx(0.75, abs=0.04)


def test_picamera_preview_boxes_are_scaled_to_the_main_stream(fake_picamera2, tmp_path, capsys):
    code, _, _ = run_cli(["--source", "picamera", "--frames", "4", "--save", str(tmp_path)], capsys)
    assert code == errors.OK
    saved = sorted(tmp_path.glob("*.jpg"))
    assert saved and cv2.imread(str(saved[0])).shape == (720, 1280, 3)


def test_autofocus_is_continuous_on_camera_module_3(fake_picamera2, capsys):
    code, _, err = run_cli(["--source", "picamera", "--frames", "2", "--verbose"], capsys)
    assert code == errors.OK
    controls = fake_picamera2.instances[-1].config["controls"]
    assert controls["AfMode"] == picam.AF_CONTINUOUS and "LensPosition" not in controls
    assert "continuous autofocus" in err


def test_lens_position_fixes_the_focus(fake_picamera2, capsys):
    code, _, err = run_cli(["--source", "picamera", "--frames", "2", "--lens-position", "4", "-v"], capsys)
    assert code == errors.OK
    controls = fake_picamera2.instances[-1].config["controls"]
    assert controls["AfMode"] == picam.AF_MANUAL and controls["LensPosition"] == 4.0
    assert "lens at 4 dioptres (25 cm)" in err


def test_lens_position_out_of_range_is_a_usage_error(fake_picamera2, capsys):
    code, _, err = run_cli(["--source", "picamera", "--frames", "2", "--lens-position", "40"], capsys)
    assert code == errors.USAGE and "0-15 dioptres" in err
    assert all(camera.closed for camera in fake_picamera2.instances)


def test_fixed_focus_camera_ignores_lens_position_with_a_warning(fake_picamera2, capsys):
    fake_picamera2.cameras = [CSI_V2]
    code, _, err = run_cli(["--source", "picamera", "--frames", "2", "--lens-position", "4"], capsys)
    assert code == errors.OK
    assert "AfMode" not in fake_picamera2.instances[-1].config["controls"]
    assert "fixed focus" in err and "--lens-position is ignored" in err


@pytest.mark.parametrize(("flags", "limit"), [([], (33_333, 100_000)), (["--max-frame-ms", "250"], (33_333, 250_000)),
                                              (["--max-frame-ms", "10"], (33_333, 33_333))])
def test_frames_may_be_longer_than_the_video_default(fake_picamera2, flags, limit, capsys):
    code, _, _ = run_cli(["--source", "picamera", "--frames", "2", *flags], capsys)
    assert code == errors.OK
    assert fake_picamera2.instances[-1].config["controls"]["FrameDurationLimits"] == limit


def test_auto_opens_a_usb_webcam_with_opencv(fake_picamera2, monkeypatch, capsys):
    fake_picamera2.cameras = [USB]
    image = fake_picamera2.scene.image

    class Capture:
        def __init__(self, device):
            self.device = device

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return self.device == 0

        def read(self):
            time.sleep(0.01)
            return True, image.copy()

        def set(self, *args):
            return True

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", Capture)
    code, records, _ = run_cli(["--frames", "3", "--json"], capsys)
    assert code == errors.OK, records
    assert fake_picamera2.instances == []  # picamera2 never asked the webcam for a lores stream
    assert records[0]["source"] == "camera 0" and records[0]["text"] == read_text(image)


def test_picamera_on_a_usb_only_pi_says_what_to_use(fake_picamera2, capsys):
    fake_picamera2.cameras = [USB]
    code, _, err = run_cli(["--source", "picamera", "--frames", "2"], capsys)
    assert code == errors.CAMERA
    assert "only USB webcam" in err and "--source 0" in err
    assert fake_picamera2.instances == []


def test_a_usb_webcam_beside_a_module_is_skipped(fake_picamera2, capsys):
    fake_picamera2.cameras = [USB, CSI]
    code, records, _ = run_cli(["--source", "picamera", "--frames", "2", "--json"], capsys)
    assert code == errors.OK
    assert fake_picamera2.instances[-1].info["Model"] == "imx708"


def test_picamera_without_a_camera_is_exit_4(fake_picamera2, capsys):
    fake_picamera2.cameras = []
    code, _, err = run_cli(["--source", "picamera", "--frames", "2"], capsys)
    assert code == errors.CAMERA
    assert "no Raspberry Pi camera detected" in err and "ribbon" in err


def test_picamera_missing_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 -> ImportError
    code, _, err = run_cli(["--source", "picamera", "--frames", "2"], capsys)
    assert code == errors.CAMERA
    assert "apt install -y python3-picamera2" in err and "--system-site-packages" in err


class ClashingPicamera2(types.ModuleType):
    """picamera2 whose compiled helpers meet a numpy they were not built for (apt's simplejpeg
    under pip's numpy 2): the import raises ValueError, not ImportError."""

    def __getattr__(self, name):
        raise ValueError("numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from "
                         "C header, got 88 from PyObject")


@pytest.mark.parametrize("source", ["picamera", "auto"])
def test_a_numpy_abi_clash_is_a_message_not_a_traceback(monkeypatch, source, capsys):
    monkeypatch.setitem(sys.modules, "picamera2", ClashingPicamera2("picamera2"))
    code, _, err = run_cli(["--source", source, "--frames", "2"], capsys)
    assert code == errors.CAMERA
    assert "Traceback" not in err and "constraints-bookworm.txt" in err and "dtype size changed" in err


def test_a_busy_camera_names_the_service_that_holds_it(fake_picamera2, monkeypatch, capsys):
    fake_picamera2.busy = True
    monkeypatch.setattr(sources, "service_active", lambda name="digit-cam": True)
    code, _, err = run_cli(["--source", "picamera", "--frames", "1"], capsys)
    assert code == errors.CAMERA
    assert "Device or resource busy" in err
    assert "sudo systemctl stop digit-cam" in err and "journalctl -u digit-cam -f" in err


def test_a_busy_camera_without_the_service_says_busy(fake_picamera2, capsys):
    fake_picamera2.busy = True
    code, _, err = run_cli(["--source", "picamera", "--frames", "1"], capsys)
    assert code == errors.CAMERA and "camera is busy" in err and "systemctl" not in err


def test_a_pi_camera_that_fails_to_start_is_released(fake_picamera2, monkeypatch, capsys):
    def broken_configure(self, config):
        raise RuntimeError("lores stream size larger than main")

    monkeypatch.setattr(fake_picamera2, "configure", broken_configure)
    code, _, err = run_cli(["--source", "picamera", "--frames", "1"], capsys)
    assert code == errors.CAMERA and "could not be started" in err
    assert all(camera.closed for camera in fake_picamera2.instances)


# --- --display without GUI OpenCV --------------------------------------------------------------

def test_gui_backend_reads_opencv_build_information():
    assert display.gui_backend("  Video I/O:\n  GUI:                           NONE\n") is None
    assert display.gui_backend("  GUI:                           GTK3\n    GTK+:   YES (ver 3.24.38)") == "GTK3"
    assert display.gui_backend(cv2.getBuildInformation()) is None  # the edge extra's headless OpenCV


def test_display_on_a_pi_uses_picamera2s_window_with_an_overlay(fake_picamera2, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    code, _, err = run_cli(["--source", "picamera", "--frames", "4", "--display"], capsys)
    assert code == errors.OK, err
    camera = fake_picamera2.instances[-1]
    assert camera.preview == "QTGL" and len(camera.overlays) == 4
    overlay = camera.overlays[-1]
    assert overlay.shape == (360, 640, 4) and overlay.dtype == np.uint8
    assert 0 < (overlay[..., 3] > 0).mean() < 0.5  # boxes and labels drawn, the rest see-through


def test_display_without_qt_says_which_packages(fake_picamera2, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")

    def no_qt(self, preview=None):
        raise ImportError("No module named 'PyQt5'")

    monkeypatch.setattr(fake_picamera2, "start_preview", no_qt)
    code, _, err = run_cli(["--source", "picamera", "--frames", "2", "--display"], capsys)
    assert code == errors.FAILURE and "python3-pyqt5" in err
    assert all(camera.closed for camera in fake_picamera2.instances)


def test_display_elsewhere_with_headless_opencv_is_a_clear_message(monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    code, _, err = run_cli(["--source", "demo", "--frames", "2", "--display"], capsys)
    assert code == errors.FAILURE
    assert "headless" in err and "--source picamera" in err and "--serve" in err
