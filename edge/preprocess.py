"""Finding digits in a camera frame: pure functions, numpy/OpenCV arrays in, arrays out.

``find_digits(frame)`` -> :class:`Segmentation` is what :class:`edge.recognizer.Recognizer` calls
per frame; each step is a function of its own so it can be tested on synthetic images:

    to_gray -> estimate_background -> ink_contrast (auto polarity) -> ink_mask
    -> candidate_boxes (connected components, shape filters, broken-stroke joining)
    -> reading_order -> normalize_digit (MNIST's own 20x20-in-28x28, centre-of-mass recipe)

Conventions: frames are (H, W) grey, (H, W, 3) BGR/RGB, (H, W, 4) BGRA/XRGB (picamera2), or
(H * 3 / 2, W) YUV420 (I420/NV12: the Y plane is the first H rows). Boxes are (x, y, w, h) in
frame pixels. "Ink" arrays are float32 in [0, 1], 1 = full ink, whatever the paper's polarity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from edge.constants import INPUT_HEIGHT, INPUT_WIDTH
from edge.errors import InputError

PIXEL_FORMATS = ("auto", "gray", "bgr", "rgb", "bgra", "rgba", "xrgb", "yuv420")
POLARITIES = ("auto", "dark", "bright")  # ink darker than the paper (pen on paper) or brighter

MNIST_DIGIT_BOX = 20  # MNIST fitted each digit into a 20x20 box, aspect kept, inside 28x28
BLOB_DEPTH = 6.0  # ink deeper than this x its pen lines' centre lines is a blob, not writing
RING_DEPTH = 1.5  # ink along all four sides this x deeper than the writing inside is a desk, not a frame
SMOOTH_EDGE_SHARE = 0.8  # ink an opening keeps, above which the pen is measured on the opened mask
LUMP_SHARE = 0.05  # lumps holding more of the ink than this are left out before the pen is smoothed
MIN_DIGIT_PX = 10  # smaller digits carry too little detail for 28x28 (and shorter ink is no pen line)
STROKE_WINDOW_FACTOR = 8.0  # background median window in stroke widths: ink stays a minority of it
STACKED_PIECES = 1.85  # pieces of one digit stack no taller than this x the taller piece
JOIN_GAP = 0.35  # neighbours closer than this x their height may be one broken digit
JOIN_ASPECT = 1.0  # ... when together they are no wider than tall
SPLIT_ASPECT = 1.15  # a box wider than this x its height may be two touching digits
NARROW_SPLIT_ASPECT = 0.7  # ... and one narrower but wider than this a 1 touching its neighbour (on demand)
NARROW_LINE_STROKES = 1.6  # ... where a piece as narrow as this x the pen is a printed line's remnant
PAGE_SMALL = 0.3  # a box shorter than this x the page's median box is read only when sure, even alone on its line
SPECK_STROKES = 0.5  # ink in a digit's box smaller than this x the pen's width squared is a speck, not a stroke,
SPECKS_MANY = 4  # ... when the box holds at least this many (grain; a broken digit's pieces are fewer)
SPECK_CLEAR = 1.0  # ... and it lies more than this x the pen's width from the box's bigger pieces of ink
SPLIT_PART_ASPECT = 0.55  # a box is tried in n even pieces when at least n x this x its height wide
CUT_SPACING = 0.15  # cuts at least this x the height apart and from the sides (a '1' is 0.2-0.4 wide)
ONE_WIDTH = 0.2  # ... the narrowest a digit is
MAX_CUTS = 8  # at most this many cuts per box: 4 touching digits need 3, the rest are spares
PATH_REACH = 0.3  # a cut may wander this x the height either side of where it starts
PATH_STEP = 0.3  # cost of a sideways step of the cut, in ink pixels: straight unless ink is in the way
MAX_SPAN_CUTS = 3  # a piece spans at most this many cut-to-cut slices
PIECE_HEIGHT = 0.6  # ... and at least this x the height tall: shorter is a bar's end or a tail
SPAN_ASPECT = 1.6  # ... and is at most this x the height wide (MNIST: 99.9% of digits under 1.67)
WIDE_ASPECT = 5.0  # a component wider than max_aspect is still touching digits up to this aspect
DENSE_STROKES = 1.8  # ... when its columns cross this many strokes on average (a rule or an underline: 1)
CUT_BY_EDGE_STROKES = 2.5  # border contact (in stroke widths) beyond which a photo's digit is cut off
THICK_PEN_PX = 4.0  # a pen this wide or wider is told from printed rules by its width
RULE_OPENING = 0.6  # ... with an opening this fraction of the pen's width
RULE_INK_RATIO = 1.5  # ink over a rule is at least this x the rule's own contrast ...
RULE_INK_MARGIN = 0.12  # ... and this much more (pen on a printed line is darker than the line)
VERTICAL_RULE_SHARE = 0.25  # a column with rule ink over this share of the height holds a vertical rule
RULE_PEN_SHARE = 0.85  # ... or wider than the rules, but no wider than this fraction of the pen
RULE_MIN_PX = 60  # printed rules are at least this long (a 640x480 frame's digits are 30-100 px)
RULE_REACH = 0.03  # a rule runs to within this share of the frame's length from one of its ends ...
LINE_ACROSS = 0.1  # ink under this x as wide across a run as it is long is a line on its own
STEM_ASPECT = 6.0  # a digit with a long stem is at most this x as tall as wide (a 1 with a flag: 3-5)
TALLEST_STROKE = 2.0  # ... and at most this x as tall as any other writing in the frame
COLLINEAR_PX = 2  # pieces of one rule have their centres within this of each other
RULE_PIECES_COVER = 0.5  # ... and cover at least this share of the stretch they reach across
EDGE_BAND = 0.3  # a frame-crossing band within this fraction of a side is a page edge or shadow
BORDER_HUGGING = 0.6  # a component with more of its pixels than this along the border is a frame
SKEW_LIMIT_DEGREES = 20.0  # neighbours in a line are within this of level (a page turned further is not read)
SKEW_REACH = 6.0  # ... and at most this many digit heights apart
SKEW_ALIKE = 0.75  # ... between boxes at least this x as tall as each other
SKEW_MIN_PAIRS = 3  # the page's skew is read from at least this many neighbouring pairs ...
SKEW_AGREE_DEGREES = 6.0  # ... most of them within this of their median (digit centres wander a few degrees)
DRIFT_REACH = 1.0  # a line starting within this x the taller's height right of another's end, its first
#                   box's centre within that of the other's last, continues it (a line drifting down or up)
DRIFT_ALIKE = 0.5  # ... when the two boxes are at least this x as tall as each other (not a speck)
LEVEL_MIN_DEGREES = 3.0  # crops of a page turned further are turned back level before the fit
FRAME_FILL = 0.8  # a row or column along a side this full of ink is a frame, not writing
FRAME_DEPTH = 0.05  # ... looked for this far in from each side
SMALL_IMAGE_PX = 64  # images whose shorter side is smaller are upsampled to it first (see find_digits)
LARGE_IMAGE_PX = 2048  # images whose longer side is larger are shrunk to it first (see shrink_large)
BRIDGE_STROKES = 0.4  # gaps up to this many stroke widths are closed before counting components
MIN_HEIGHT_STROKES = 2.5  # a digit is at least this many stroke widths tall
HAIRLINE_FRACTION = 0.45  # ink per unit length under this x the pen's width is a printed line
# A box printed or drawn round digits (a form's cells): a component whose four sides are straight
# lines, each with ink along this share of its length (within a band of 1.5 line widths plus
# FRAME_TILT of the box's size: a page turned a few degrees) ...
FRAME_SIDE_COVER = 0.9
FRAME_TILT = 0.06
# ... and whose lines are thin for its size (a pen's 0, however square, is drawn with a stroke
# about a tenth of its height), or which holds other ink: a digit inside, or touching its lines.
FRAME_THIN = 0.05
FRAME_MIN_PX = 2.5 * MIN_DIGIT_PX  # a cell holds a digit: it is at least this wide and tall
LINE_MARGIN_PX = 2  # a line's pixels: within half its thickness and this of the line fitted to it
FRAME_LINE_SHARE = 0.12  # ... which is at most this share of the box's size thick
FRAME_STRAIGHT = 0.8  # ... with its ink on that line along this share of the box
FRAME_MAX_SPAN = 0.9  # a grid (more than two lines each way) spanning this much of the frame is squared paper
FRAME_WALL_WIDTH = 1.5  # a wall between cells is at most this x (plus a pixel) as thick as the box's sides
FRAME_SPILL = 0.25  # a digit may run out over a side of its box by this share of the size (box and spill) ...
FRAME_SPILL_INK = 0.2  # ... with at most this share of the component's ink out there
# Pens scaled to within these multiples of MNIST's are left as they are: measured on the dev set,
# thickening anything but hairlines (a thin ballpoint) and thinning anything but a fat marker cost
# more photos than it gained.
STROKE_KEEP = (0.6, 2.0)
PEN_CHANGE_PX = 8 * MNIST_DIGIT_BOX  # a bigger digit is shrunk to this before its pen is changed
MNIST_STROKE = 2.2  # MNIST's mean stroke width (stroke_width of pixels > 127, 3,000 test digits)
NOISE_SIGMAS = 6.0  # ink is at least this many of the paper's noise deviations darker than the paper ...
FAINT_INK = 0.07  # ... and this much (a fraction of the paper): grain and shading in the paper stay out
TWO_LEVEL_SEPARABILITY = 0.95  # Otsu's between/total variance above which one threshold suffices
DARK_INK_PRIOR = 1.5  # in a photo of a page, bright "ink" must outvote dark ink this many times
TIGHTER_CLOSING = 0.8  # a pen-sized closing earns a second pass when it is at most this x the first one ...
KEPT_BY_TIGHTER = 0.8  # ... and is kept when it keeps this share of the first pass's ink
# A page photographed on a desk (step "desk"): a side of the frame (its outer FRAME_DEPTH) is desk
# when its brightest tenth is at most DARKER_SURROUND x the paper's level in the middle (the central
# SURROUND_MIDDLE, its PAPER_QUANTILE percentile) and DESK_STEP grey levels under it. Dev photos as
# taken: no side qualifies; on the robustness desk every side of the 85 page photos does.
DARKER_SURROUND = 0.7
SURROUND_MIDDLE = 0.6
PAPER_QUANTILE = 25  # percent of the middle darker than its paper level: writing covers less
DESK_STEP = 30
PAGE_MIN_SHARE = 0.3  # the page found on a desk covers at least this share of the frame ...
PAGE_FILL = 0.75  # ... and this share of its box (a sheet turned 5 degrees fills 0.79; from about 7, none is found)
EDGE_SLOPE = 0.2  # ... and its edge climbs at least this share of the desk-to-paper step per shrunk pixel
QUARTER = 4  # backgrounds are estimated at 1/QUARTER of the resolution
PAGE_PHOTO_PX = 128  # images at least this big on their shorter side may show a page's edge
SPARSE_INK = 8  # component_stats sorts the set pixels itself when they are under 1/this of the image


class InvalidFrameError(InputError, ValueError):
    """A frame that is not an image this module can read (wrong dtype, channels or rank)."""


Box = tuple[int, int, int, int]  # x, y, w, h


# The finder's optional steps, each of which python -m devtools.ablation can switch off:
FINDER_STEPS = (
    "two-level",  # clean images (drawings, scans, crops) thresholded globally
    "noise-floor",  # faint ink (pencil) kept down to what the paper's noise allows, below min_contrast
    "pen-window",  # a second background pass with a window sized by the measured pen
    "page-edges",  # in photos, the paper's edge (a desk, a shadow beside it) kept out of the ink
    "pen-rules",  # ink wider than the rules kept where it crosses them
    "digit-strokes",  # a big digit's own long straight strokes (a thin pen's bar, base or stem) are no rules
    "ink-over-rules",  # ink darker than the rules kept where it crosses or runs along them
    "border-frames",  # components hugging the image border (canvas frames, page edges) removed
    "cut-by-edge",  # in photos, small digits cut by the frame's edge removed
    "hairline",  # ink much finer than the pen (rule remnants) removed
    "cell-frames",  # boxes printed or drawn round the digits (a form's cells) taken out of the ink
    "desk",  # in photos of a page on a darker desk, only the page is read, and as dark ink
    "stroke-norm",  # each crop's pen made MNIST-wide
    "drifting-lines",  # a line that starts just right of another's end, level with it within a digit's height,
    #                    continues it (a line written sloping, a digit dropped below its neighbours)
    "small-for-page",  # a box tiny beside the page's digits read only when sure, even alone on its line
    "specks",  # many specks in a digit's box (a grainy paper's fibres) left out of its crop
    "level-lines",  # lines followed along the page's measured skew (a turned page's crops turned level), and the
    #                 stacked halves of a broken digit kept in its line
    "unsure-at-edge",  # unreadable shapes cut by the frame's edge dropped, not read as '?' (edge.recognizer)
    "small-by-classifier",  # digits small for their line kept when the classifier is sure (else dropped,
    #                         and with them the fragments that joins would put together)
    "joins",  # neighbouring pieces read as one digit when the classifier prefers it
    "splits",  # wide boxes read as two touching digits when the classifier prefers it
    "narrow-splits",  # a doubted box too narrow for two digits cut through ink when a piece is a 1 (with splits)
)


@dataclass(frozen=True)
class FindConfig:
    """Tunable thresholds of :func:`find_digits`; the defaults suit paper under room light."""

    polarity: str = "auto"
    min_contrast: float = 0.18  # ink must be this much darker than the paper (fraction of it)
    min_height_px: int = MIN_DIGIT_PX
    min_height_fraction: float = 0.02  # ... and relative to the frame height
    max_aspect: float = 2.5  # width / height above this: a ruled line or underline (wide 4s reach 2)
    max_fill: float = 0.85  # area / box area above this (for non-thin shapes): a solid blob
    relative_height: float = 0.45  # shorter than this x the tallest of its line: kept only if confident
    max_digits: int = 400  # a frame with more candidates than this is texture, not digits (a full page has ~250)
    steps: frozenset[str] = frozenset(FINDER_STEPS)  # which optional steps run (devtools.ablation turns them off)


@dataclass(frozen=True)
class Alternative:
    """Another way to cut the ink around box ``index``: ``boxes`` and their (n, 28, 28) ``crops``.
    ``fragments``: a join of two pieces each small for their line into one that is not (a broken
    '1' or '7'), which the classifier may join however surely it reads the pieces."""

    index: int
    boxes: tuple[Box, ...]
    crops: np.ndarray
    fragments: bool = False


@dataclass(frozen=True)
class Lattice:
    """Ways to read box ``index`` as touching digits, for the classifier to choose from
    (:meth:`edge.recognizer.Recognizer.read`): ``cuts`` cut paths divide it, and each of ``spans``
    (first cut, last cut; 0 = the box's left side, ``cuts + 1`` its right side) is a piece with its
    ``boxes`` entry and (28, 28) ``crops`` row. The whole box is the found box itself. ``height`` is
    what a piece's width is judged against; ``required``: too wide for one digit, so the whole box
    is not a reading, and its pieces are kept only when the classifier is sure. ``free``: for each
    cut, whether it crosses no ink -- the box is shapes apart that closing the gaps joined."""

    index: int
    cuts: int
    spans: tuple[tuple[int, int], ...]
    boxes: tuple[Box, ...]
    crops: np.ndarray
    height: int
    required: bool = False
    free: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Segmentation:
    """What :func:`find_digits` found: crops ready for the model, their boxes, their lines."""

    crops: np.ndarray  # (N, 28, 28) uint8, ink bright, MNIST-normalised
    boxes: list[Box]  # frame coordinates, in reading order
    lines: list[int]  # line number of each box, 0 = top line
    polarity: str  # "dark" or "bright": what auto-detection decided
    optional: list[bool] = field(default_factory=list)  # small for its line: dropped unless confident
    # Alternatives the classifier chooses between (see Recognizer.read): box i and i + 1 read as
    # one digit (a broken digit), or box i read as several (touching digits).
    joins: list[Alternative] = field(default_factory=list)
    splits: list[Lattice] = field(default_factory=list)
    # Box i (narrower than SPLIT_ASPECT x its height, at least NARROW_SPLIT_ASPECT) cut through its
    # ink too: a 1 touching its neighbour. Made only when asked (the classifier doubts the box),
    # since most single digits are that wide. None when the box is no such width, no piece is
    # left, the step or splits are off, or the page has rules or a form's lines.
    narrow_split: Callable[[int], Lattice | None] = field(default=lambda index: None, repr=False)


def to_gray(frame: np.ndarray, pixel_format: str = "auto") -> np.ndarray:
    """Any supported frame -> (H, W) uint8 grey. Raises :class:`InvalidFrameError` otherwise.

    ``auto`` reads 2-D as grey, 3 channels as BGR (OpenCV's order) and 4 as BGRA (picamera2's
    XRGB8888 is B, G, R, X in memory). YUV420 must be named: it is 2-D like grey.
    """
    if pixel_format not in PIXEL_FORMATS:
        raise InvalidFrameError(f"unknown pixel format {pixel_format!r}; one of {', '.join(PIXEL_FORMATS)}")
    frame = _as_uint8(frame)
    if pixel_format == "yuv420":
        if frame.ndim != 2 or frame.shape[0] % 3:
            raise InvalidFrameError(f"a YUV420 frame is 2-D with a height divisible by 3 "
                                    f"(H * 3 / 2 rows), got shape {frame.shape}")
        return frame[: frame.shape[0] * 2 // 3]  # the Y plane: already grey, no conversion
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        if pixel_format not in ("auto", "gray"):
            raise InvalidFrameError(f"a 2-D frame is grey, not {pixel_format}")
        return frame
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise InvalidFrameError("expected (H, W) grey, (H, W, 3) or (H, W, 4) colour, "
                                f"got shape {frame.shape}")
    channels = frame.shape[2]
    if pixel_format == "gray":
        raise InvalidFrameError(f"a frame with {channels} channels is not grey")
    if pixel_format in ("bgr", "rgb") and channels != 3 or pixel_format in ("bgra", "rgba", "xrgb") \
            and channels != 4:
        raise InvalidFrameError(f"pixel format {pixel_format} does not have {channels} channels")
    if frame.size == 0:  # OpenCV refuses empty images; an empty frame is simply empty grey
        return np.zeros(frame.shape[:2], np.uint8)
    if not frame.flags.c_contiguous:
        frame = np.ascontiguousarray(frame)
    if pixel_format in ("rgb", "rgba"):
        code = cv2.COLOR_RGB2GRAY if channels == 3 else cv2.COLOR_RGBA2GRAY
    else:  # auto, bgr, bgra, xrgb
        code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(frame, code)


def _as_uint8(frame) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype == np.bool_:
        return frame.astype(np.uint8) * 255
    if frame.dtype == np.uint16:  # 16-bit sensors/PNGs: keep the top 8 bits
        return (frame >> 8).astype(np.uint8)
    if frame.dtype.kind == "f":  # float images are [0, 1] by convention (OpenCV, skimage)
        cleaned = np.nan_to_num(frame.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return (np.clip(cleaned, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    raise InvalidFrameError(f"unsupported pixel type {frame.dtype}; use uint8, uint16, bool or "
                            "float in [0, 1]")


def crop_roi(image: np.ndarray, roi: Box | None) -> tuple[np.ndarray, int, int]:
    """The region of interest (clipped to the image) and its offset; ``None`` = whole image."""
    if roi is None:
        return image, 0, 0
    x0, y0, x1, y1 = searched_area(image.shape[:2], roi)
    return image[y0:y1, x0:x1], x0, y0


def searched_area(shape: tuple[int, int], roi: Box | None) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of what :func:`find_digits` searches in an image of ``shape``
    (rows, columns): the region of interest clipped to the image, or all of it."""
    height, width = shape
    if roi is None:
        return 0, 0, width, height
    x, y, w, h = roi
    if w <= 0 or h <= 0:
        raise InvalidFrameError(f"region of interest needs a positive width and height, got {roi}")
    return (min(max(x, 0), width), min(max(y, 0), height),
            min(max(x + w, 0), width), min(max(y + h, 0), height))


def cut_by_frame(box: Box, area: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` touches a side of the searched ``area`` while smaller than half of it both
    ways: a shape the frame cuts off (a desk's object, a shadow, half a digit), not the one digit
    of a tight crop."""
    x, y, w, h = box
    left, top, right, bottom = area
    touches = x <= left or y <= top or x + w >= right or y + h >= bottom
    return touches and 2 * w < right - left and 2 * h < bottom - top


def estimate_background(gray: np.ndarray, window: int | None = None, *, small: np.ndarray | None = None) -> np.ndarray:
    """The paper's brightness at every pixel, ink removed: (H, W) uint8.

    A median over a window much wider than a pen stroke ignores the ink (a minority of any
    window) but follows lighting gradients and shadows. Done at quarter resolution: 16x fewer
    pixels, and the background is smooth anyway. ``window`` (full-resolution pixels) should come
    from the measured stroke width (:func:`background_window`); without it, a third of the frame.
    ``small``: ``quarter(gray, background_scale(gray.shape))``, when the caller has it already.
    """
    height, width = gray.shape
    scale = background_scale(gray.shape)
    small = quarter(gray, scale) if small is None else small
    small_window = int(round((window or default_window(gray.shape)) / scale))
    # medianBlur takes any odd size on uint8 but must fit the image.
    small_window = max(3, min(small_window | 1, (min(small.shape) - 1) | 1, 255))
    background = cv2.medianBlur(small, small_window) if min(small.shape) >= 3 else small
    if scale == 1:
        return background
    return cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)


def background_scale(gray_shape: tuple[int, int]) -> int:
    """How many times smaller backgrounds are estimated: :data:`QUARTER`, or 1 for a small image."""
    return QUARTER if min(gray_shape) >= 64 else 1


def quarter(gray: np.ndarray, scale: int | None = None) -> np.ndarray:
    """``gray`` shrunk ``scale`` times (default :data:`QUARTER`) by area averaging, at least 1x1:
    a smooth background needs no more resolution, and 16x fewer pixels cost 16x less."""
    scale = scale or QUARTER
    height, width = gray.shape
    return cv2.resize(gray, (max(1, width // scale), max(1, height // scale)), interpolation=cv2.INTER_AREA)


def default_window(gray_shape: tuple[int, int]) -> int:
    """The first-pass median window before the pen is measured: a third of the frame's shorter
    side, but in a small image (a crop, where one digit fills the frame) all of it up to 64 px.
    Too narrow a window hollows fat strokes, and a hollow stroke measures thin, so the second
    pass never widens it: with 1/6 of the frame, the dev set's photos doubled in size read 87.5 %
    exactly; with a third, 91.2 % (and 92.5 % unchanged, against 91.2 %)."""
    return max(3, min(gray_shape) // 3, min(min(gray_shape), 64))


def page_background(gray: np.ndarray, background: np.ndarray, polarity: str, kernel: int, *,
                    small: np.ndarray | None = None) -> np.ndarray:
    """``background`` where the paper ends: a desk, a shadow or a dark surround beside the page.

    A median wider than the pen is pulled towards the page across the paper's edge, so the
    darker side of the edge reads as ink: a frame-long band along the page. A morphological
    closing ``kernel`` pixels wide (a few pen widths) removes the pen's strokes but keeps any
    edge, so the lower of the two (the higher, for bright ink) is the paper inside the page and
    the surround beyond it. Small images (crops) have no page edge and are left as they are.
    ``small``: ``quarter(gray)``, when the caller has it already.
    """
    height, width = gray.shape
    if min(height, width) < PAGE_PHOTO_PX:
        return background
    small = quarter(gray) if small is None else small  # like the median: the background is smooth
    size = max(3, int(round(kernel / QUARTER)) | 1)
    element = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    operation = cv2.MORPH_CLOSE if polarity == "dark" else cv2.MORPH_OPEN
    level = cv2.resize(cv2.morphologyEx(small, operation, element), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.minimum(background, level) if polarity == "dark" else np.maximum(background, level)


def stroke_width(mask: np.ndarray) -> float:
    """Typical pen-stroke width, in pixels, of the ink in a 0/255 mask (0 when there is none).

    From the distance transform along the strokes' centre lines (its local maxima): a stroke of
    width w has centre-line distance about (w + 1) / 2 to the nearest paper pixel, whatever its
    length or the digit's size; ``2 d - 0.5`` splits the difference between odd and even widths.
    Only pen lines count (:func:`pen_ridges`): a shadow or a speck would swamp the writing.
    """
    if not mask.any():
        return 0.0
    return pen_width(pen_ridges(mask))


def pen_width(ridges: Ridges) -> float:
    """:func:`stroke_width` of the mask ``ridges`` were found in (:func:`pen_ridges`), for a
    caller that needs the ridges too."""
    if not ridges.pen_line.any():
        return _width(ridges.depths)
    lumps = ridges.areas[1:][~ridges.pen_line[1:]].sum()
    pen = ridges.region
    if lumps > LUMP_SHARE * ridges.areas[1:].sum():
        pen = np.where(ridges.pen_line[ridges.labels], 255, 0).astype(np.uint8)  # the pen lines alone
    # Sensor noise makes a wide stroke's edge ragged, and every burr poses as a thin stroke: when
    # an opening a few pixels wide keeps most of the pen's ink, the pen is wider than that, so it
    # is measured without the burrs. (A hairline pen does not survive the opening and is measured as is.)
    ink, smoothed = cv2.countNonZero(pen), None
    for size in (3, 5):
        opened = cv2.morphologyEx(pen, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
        if cv2.countNonZero(opened) < SMOOTH_EDGE_SHARE * ink:
            break
        pen = smoothed = opened
    if smoothed is None and pen is ridges.region:
        return _width(ridges.depths[ridges.writing])
    again = pen_ridges(pen)
    return _width(again.depths[again.writing] if again.writing.any() else again.depths)


def _width(depths: np.ndarray) -> float:
    return float(max(2.0 * np.median(depths) - 0.5, 1.0)) if depths.size else 1.0


@dataclass(frozen=True)
class Ridges:
    """The centre lines of a mask's ink (see :func:`pen_ridges`), pixel by pixel and component by
    component (index 0 is the paper)."""

    depths: np.ndarray  # (n,) distance to the paper of each centre-line pixel
    owner: np.ndarray  # (n,) its component
    deepest: np.ndarray  # (count,) each component's greatest depth
    pen_line: np.ndarray  # (count,) bool: tall enough for its own pen, as a digit is
    sides: np.ndarray  # (count,) how many of the image's sides it touches, 0-4
    areas: np.ndarray  # (count,) pixels of each component
    region: np.ndarray  # the mask's ink box with one pixel of paper around it, 0/255 uint8
    labels: np.ndarray  # the components over ``region``

    @property
    def on_border(self) -> np.ndarray:
        """(count,) bool: touching the image's edge."""
        return self.sides > 0

    @property
    def writing(self) -> np.ndarray:
        """(n,) bool: centre-line pixels of pen lines."""
        return self.pen_line[self.owner]


def pen_ridges(mask: np.ndarray, border: int = 0) -> Ridges:
    """The centre lines of a non-empty 0/255 mask's ink, and which components are pen lines:
    at least :data:`MIN_HEIGHT_STROKES` of their own deepest stroke tall, as a digit is, and no
    shorter than the smallest digit (sensor noise makes short filaments one pixel wide). The
    rest -- a shadow, a desk, a blot, a speck -- are lumps. A component within ``border`` pixels
    of the image's edge is on it (a frame stripped from the mask leaves that much paper)."""
    distance = ink_distance(mask)
    ridge = centre_lines(distance)
    depths = distance[ridge]
    region = cv2.compare(distance, 0, cv2.CMP_GT)  # 0/255 uint8
    count, labels, stats = component_stats(region)
    owner = labels[ridge]
    deepest = np.zeros(count, np.float32)
    np.maximum.at(deepest, owner, depths)
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    pen_line = (2.0 * deepest * MIN_HEIGHT_STROKES <= heights) & (heights >= MIN_DIGIT_PX)
    pen_line[0] = False
    # ``distance`` covers the ink's box and one pixel of paper around it (see ink_distance).
    x, y, w, h = cv2.boundingRect(mask)
    left, top = stats[:, cv2.CC_STAT_LEFT] - 1 + x, stats[:, cv2.CC_STAT_TOP] - 1 + y  # in the image
    right = left + stats[:, cv2.CC_STAT_WIDTH]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    sides = ((left <= border).astype(np.int8) + (top <= border) + (right >= mask.shape[1] - border)
             + (bottom >= mask.shape[0] - border))
    sides[0] = 0
    return Ridges(depths, owner, deepest, pen_line, sides, stats[:, cv2.CC_STAT_AREA], region, labels)


def centre_lines(distance: np.ndarray) -> np.ndarray:
    """Bool, the shape of ``distance`` (an :func:`ink_distance`): the ink's centre lines, where the
    distance to the paper is a local maximum. A stroke's width is twice its centre line's depth."""
    return (distance > 0) & (distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8)))


def ink_distance(mask: np.ndarray) -> np.ndarray:
    """Each ink pixel's distance to the nearest paper pixel (OpenCV's 5x5 chamfer L2), over the
    ink's bounding box with one pixel of paper around it: (h + 2, w + 2) float32, 0 on paper.

    The values are those of the whole frame with a paper border: a nearer paper pixel outside the
    box would have to lie beyond its paper ring, which is nearer still. Ink is a small part of a
    page, so the transform is done on a fraction of the frame.
    """
    x, y, w, h = cv2.boundingRect(mask)
    # A paper border: ink reaching every edge (a crop that is all stroke) still has a finite width.
    ink = cv2.copyMakeBorder((mask[y:y + h, x:x + w] > 0).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(ink, cv2.DIST_L2, cv2.DIST_MASK_5)


def has_blob(mask: np.ndarray) -> bool:
    """True when the mask holds a solid region far wider than its pen -- :data:`BLOB_DEPTH` x the
    depth of the writing's centre lines or more: a lump too squat to be writing (a shadow, a
    page), or a band along the image's edge thicker than the writing inside it (a desk around
    the page)."""
    if not mask.any():
        return False
    return holds_blob(pen_ridges(mask, border=frame_border(mask.shape)))


def frame_border(shape: tuple[int, int]) -> int:
    """How near the image's edge a component counts as on it for :func:`has_blob`: the depth a
    stripped frame (:func:`strip_frame`) can leave as paper, and a pixel."""
    return int(FRAME_DEPTH * min(shape)) + 1


def holds_blob(ridges: Ridges) -> bool:
    """:func:`has_blob` of the mask ``ridges`` were found in, with ``border=frame_border(...)``."""
    inside = ridges.writing & ~ridges.on_border[ridges.owner]
    writing = inside if inside.any() else ridges.writing
    typical = float(np.median(ridges.depths[writing])) if writing.any() else 1.0
    limit = BLOB_DEPTH * typical  # at least 6 px deep: specks are never blobs
    lumps = ~ridges.pen_line[1:]
    edge_bands = ridges.on_border[1:] & inside.any()
    if np.any(ridges.deepest[1:][lumps | edge_bands] > limit):
        return True
    # A ring along all four sides thicker than the pen inside it: the desk around a page.
    rings = ridges.sides[1:] == 4
    return bool(inside.any() and np.any(ridges.deepest[1:][rings] > RING_DEPTH * typical))


def encloses_writing(mask: np.ndarray, stroke: float) -> bool:
    """True when the mask's "ink" is really paper: the holes it encloses are pen strokes many
    times thinner than itself -- a bright page on a darker desk, where the page is the smaller
    of a clean image's two levels. (The hole of a drawn 0 is wider than its stroke.)"""
    holes = cv2.bitwise_not(mask)
    count, labels, stats = component_stats(holes)
    touching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    enclosed = np.isin(labels, touching, invert=True) & (holes > 0)
    if not enclosed.any():
        return False
    ridges = pen_ridges(enclosed.astype(np.uint8) * 255)
    if not ridges.pen_line.any():
        return False  # pinholes or a drawn 0's small hole: no written strokes in there
    return stroke > BLOB_DEPTH * pen_width(ridges)


def background_window(stroke: float, gray_shape: tuple[int, int]) -> int:
    """Median window (pixels) for :func:`estimate_background`: wide enough that a stroke of width
    ``stroke`` is a minority of it even where strokes cross, but no wider than the frame."""
    return int(min(max(STROKE_WINDOW_FACTOR * stroke, 15), max(gray_shape)))


def is_two_level(gray: np.ndarray) -> bool:
    """True for clean images (drawings, scans, crops): two grey levels explain nearly all of the
    variance (Otsu's separability), so one global threshold separates ink from paper."""
    if gray.size < 4:
        return False
    # From the 256-bin histogram: the best split's between-class variance over the total.
    counts = cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    total = counts.sum()
    mean = (counts * levels).sum() / total
    variance = (counts * (levels - mean) ** 2).sum() / total
    if variance < 64:  # a blank or nearly uniform image: nothing to separate
        return False
    weight = np.cumsum(counts)[:-1] / total  # share at or below each split
    cumulative_mean = np.cumsum(counts * levels)[:-1] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean * weight - cumulative_mean) ** 2 / (weight * (1 - weight))
    return float(np.nanmax(between)) / variance >= TWO_LEVEL_SEPARABILITY


def two_level_polarity(gray: np.ndarray) -> str:
    """Polarity of a two-level image: ink is the minority level (MNIST's digits cover ~19 % of
    the field; even a fat marker filling a tight crop stays under half of it). The border is no
    guide: canvases often have a frame drawn in the ink's colour."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return "dark" if np.count_nonzero(gray > threshold) * 2 >= gray.size else "bright"


def detect_polarity(gray: np.ndarray, background: np.ndarray, min_contrast: float = 0.18,
                    bright_background: np.ndarray | None = None, dark_prior: float = 1.0) -> str:
    """``"dark"`` when ink is darker than the paper (pen on paper), else ``"bright"``.

    Counts pixels well below and well above the local background; ink is the side with more,
    the dark side's count weighted by ``dark_prior`` (a page photo is written in dark ink unless
    clearly not: a glare band is no writing). White-on-black (MNIST, paint programs) has its
    strokes above a near-black background. ``bright_background``, when given, is the background
    the bright side is judged against (see :func:`page_background`).
    """
    diff = gray.astype(np.int16) - background.astype(np.int16)
    margin = max(12, int(min_contrast * 255 / 2))
    darker = int(np.count_nonzero(diff < -margin))
    if bright_background is not None:
        diff = gray.astype(np.int16) - bright_background.astype(np.int16)
    brighter = int(np.count_nonzero(diff > margin))
    return "dark" if dark_prior * darker >= brighter else "bright"


def _quantile(values: np.ndarray, percent: float) -> float:
    """The ``percent`` percentile (lower value) of a uint8 array, from its histogram: several times
    faster than np.percentile on the few thousand pixels of a shrunk frame's region."""
    counts = cv2.calcHist([np.ascontiguousarray(values)], [0], None, [256], [0, 256]).ravel().cumsum()
    return float(np.searchsorted(counts, max(percent / 100.0 * counts[-1], 1.0)))


def desk_sides(small: np.ndarray) -> tuple[list[bool], float, float]:
    """Which of the frame's sides (top, bottom, left, right; the outer :data:`FRAME_DEPTH` of each)
    are much darker than the paper in its middle -- a desk beside the page -- with the paper's
    level and the darkest side's. ``small`` is the frame shrunk (:func:`quarter`), uint8."""
    height, width = small.shape
    band = max(1, int(FRAME_DEPTH * min(height, width)))
    margin_y, margin_x = int(height * (1 - SURROUND_MIDDLE) / 2), int(width * (1 - SURROUND_MIDDLE) / 2)
    # The paper's level: a low quantile, below which only writing lies on a page.
    paper = _quantile(small[margin_y:height - margin_y, margin_x:width - margin_x], PAPER_QUANTILE)
    # A desk runs the side's whole length: its brightest tenth too (a shadow cast across a side
    # leaves some of it lit).
    levels = [_quantile(side, 90) for side in
              (small[:band], small[-band:], small[band:-band, :band], small[band:-band, -band:])]
    return [level <= min(DARKER_SURROUND * paper, paper - DESK_STEP) for level in levels], paper, min(levels)


def page_area(gray: np.ndarray, *, small: np.ndarray | None = None) -> Box | None:
    """The part of a photo that is the page, when the page lies on a darker desk that shows along
    one or more sides of the frame: the largest bright region (the page, split from the desk at
    Otsu's level), its box less a shrunk pixel on each side where the desk shows and the page's
    edge is sharp, so the desk and the step at the page's edge are left out. A shadow on the page
    can be as dark as a desk, but its edge is soft: that side is not cut, and writing in the
    shadow is read. None for anything else: no desk, no page-sized solid bright region, no sharp
    edge."""
    height, width = gray.shape
    if min(height, width) < PAGE_PHOTO_PX:
        return None
    small = quarter(gray) if small is None else small
    desk, paper, surround = desk_sides(small)
    if not any(desk):
        return None
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return None
    page = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[page, :4])
    if w * h < PAGE_MIN_SHARE * small.size or stats[page, cv2.CC_STAT_AREA] < PAGE_FILL * w * h:
        return None  # too small for a page, or no solid sheet (a white digit on a black canvas)
    # The sheet's outline (writing inside it filled), away from the frame's sides: a page's edge
    # climbs from desk to paper within a shrunk pixel or two, a cast shadow's over many. Judged on
    # each side to be cut: a sheet's three sharp edges must not carry a shadow's soft one across
    # the fourth, with writing in the shadow beyond it.
    sheet = np.zeros_like(small)
    contours, _ = cv2.findContours((labels == page).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(sheet, contours, -1, 1, thickness=cv2.FILLED)
    outline = sheet.astype(bool) & ~cv2.erode(sheet, np.ones((3, 3), np.uint8)).astype(bool)
    outline[:1], outline[-1:], outline[:, :1], outline[:, -1:] = False, False, False, False
    slope = cv2.magnitude(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1)) / 8.0
    near = 3  # shrunk pixels: the outline along a side of the sheet's box
    along = (outline[y:y + near], outline[y + h - near:y + h], outline[:, x:x + near], outline[:, x + w - near:x + w])
    slopes = (slope[y:y + near], slope[y + h - near:y + h], slope[:, x:x + near], slope[:, x + w - near:x + w])
    cut = [is_desk and edge.any() and float(np.median(steep[edge])) >= EDGE_SLOPE * (paper - surround)
           for is_desk, edge, steep in zip(desk, along, slopes, strict=True)]
    if not any(cut):
        return None
    top, bottom, left, right = cut
    # One shrunk pixel in from each side cut: the one that holds the step.
    x0 = min(width, (x + 1) * QUARTER) if left else 0
    y0 = min(height, (y + 1) * QUARTER) if top else 0
    x1 = min(width, (x + w - 1) * QUARTER) if right else width
    y1 = min(height, (y + h - 1) * QUARTER) if bottom else height
    if x1 - x0 < PAGE_PHOTO_PX // 2 or y1 - y0 < PAGE_PHOTO_PX // 2:
        return None
    return x0, y0, x1 - x0, y1 - y0


def ink_contrast(gray: np.ndarray, background: np.ndarray, polarity: str) -> np.ndarray:
    """(H, W) float32: how far each pixel is from the paper towards ink, as a fraction of the
    paper-to-extreme range (so dim and bright frames give the same numbers)."""
    g = gray.astype(np.float32)
    b = background.astype(np.float32)
    if polarity == "dark":
        contrast = (b - g) / np.maximum(b, 16.0)
    else:
        contrast = (g - b) / np.maximum(255.0 - b, 16.0)
    return np.clip(contrast, 0.0, 1.0)


def ink_mask(contrast: np.ndarray, min_contrast: float, noise_floor: bool = False) -> np.ndarray:
    """(H, W) uint8 0/255 mask of ink: Otsu on the contrast, never below ``min_contrast`` -- or,
    with ``noise_floor``, never below what the paper's own noise reaches (:func:`paper_noise_floor`),
    when that is lower: faint pencil on a clean, evenly lit page is ink too."""
    scaled = (contrast * 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu splits sensor noise on a blank page; the floor keeps noise out, and the ceiling keeps
    # faint strokes in when a few very dark marks pull Otsu up.
    floor = min(min_contrast, paper_noise_floor(contrast)) if noise_floor else min_contrast
    threshold = min(max(otsu / 255.0, floor), 0.5)
    # OpenCV compares float32 with the threshold rounded to float32, as numpy's ``contrast > t`` does.
    return cv2.threshold(contrast, threshold, 255, cv2.THRESH_BINARY)[1].astype(np.uint8)


def paper_noise_floor(contrast: np.ndarray) -> float:
    """The lowest contrast that is surely not the paper's noise: ``NOISE_SIGMAS`` x its spread,
    and at least ``FAINT_INK``.

    The paper's pixels scatter around the background, half of them darker (contrast > 0): the
    median of those, ink being a small minority, is 0.67 of the noise's standard deviation (a
    half-normal's median). Pixels at exactly 0 are left out: a flat surround (a desk, a padded
    border) or bright paper beside a darker one has no noise to measure, and counting it would
    set the floor into the page's grain. A sample of every 4th row and column is plenty.
    """
    sample = contrast[::4, ::4]
    darker = sample[sample > 0]
    spread = float(np.median(darker)) / 0.674 if darker.size else 0.0
    return max(FAINT_INK, NOISE_SIGMAS * spread)


def remove_ruled_lines(mask: np.ndarray, min_span: float = 0.6, stroke: float = 0.0,
                       contrast: np.ndarray | None = None) -> np.ndarray:
    """Remove the rules of lined or squared paper (and margin lines) from a 0/255 ink mask: the
    rules :func:`find_rules` finds, erased by :func:`erase_rules`."""
    return erase_rules(mask, find_rules(mask, min_span), stroke, contrast)


def find_rules(mask: np.ndarray, min_span: float = 0.6, *, digit_strokes: bool = True) -> np.ndarray | None:
    """The rules of lined or squared paper (and margin lines) in a 0/255 ink mask, grown by a
    pixel, as a 0/255 mask; ``None`` when there are none (plain paper, the common case).

    A rule is a straight horizontal or vertical run that spans at least ``min_span`` of the frame
    and is thin for it, or (horizontally) is at least 12 % of it long and a few pixels thin: a rule
    interrupted by digits. Either way it is at least ``RULE_MIN_PX`` long. On a page with such
    rules, thin runs along one line that together reach across the frame are rules too (either
    way; :func:`collinear_pieces`): squared paper's lines cut short by a big digit. With
    ``digit_strokes``, runs that are all a big digit's own strokes are no rules
    (:func:`digit_strokes_only`).
    """
    height, width = mask.shape
    rules = None
    for axis, length in ((1, width), (0, height)):  # axis 1: horizontal rules, 0: vertical
        # Vertical rules only count when they span most of the frame (a 1 is a vertical run too),
        # so only runs half that long are looked at: on plain paper, nothing is, and no component
        # labelling is spent.
        kernel_length = max(15, int(length * (0.08 if axis == 1 else min_span / 2)))
        # Faint rules threshold into dashes: join short gaps along the rule before looking for runs.
        joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, 9) if axis == 1 else (9, 1), np.uint8))
        runs = long_runs(joined, kernel_length, axis)
        if runs is None:  # the common case on plain paper: nothing long and straight
            continue
        # Components within the runs' bounding box only: a rule is judged by its own extent and
        # area, wherever it lies, and the box is a band of the frame.
        left, top, box_width, box_height = cv2.boundingRect(runs)
        count, labels, stats = component_stats(runs[top:top + box_height, left:left + box_width])
        span = stats[:, cv2.CC_STAT_WIDTH if axis == 1 else cv2.CC_STAT_HEIGHT]
        thickness = stats[:, cv2.CC_STAT_AREA] / np.maximum(span, 1)
        # Printed rules are thin; a digit bar long enough to survive the opening belongs to a big
        # digit whose pen strokes are thicker. A rule cut by digits leaves long thin segments.
        # Only horizontally: a '1' is exactly a long thin vertical run, and vertical rules (margins)
        # span the page anyway (or, on squared paper, reach across it in pieces: collinear_pieces).
        thin = thickness <= thin_rule_px(mask.shape)
        # A rule is long in pixels too: in a small crop a digit's own bar spans most of the width.
        segment = thin & (span >= max(0.12 * length, RULE_MIN_PX)) if axis == 1 else np.zeros_like(thin)
        # A digit big enough to span most of the frame has strokes thicker than any printed rule.
        edge_to_edge = (span >= max(min_span * length, RULE_MIN_PX)) & (thickness <= 0.03 * min(height, width))
        is_rule = edge_to_edge | segment
        is_rule[0] = False  # the background label
        # Down the page only while nothing across it is a rule: on a ruled page a line down it is its margin.
        if (digit_strokes and is_rule.any() and (axis == 1 or rules is None)
                and digit_strokes_only(joined, labels, stats, (left, top), axis, is_rule)):
            continue
        if is_rule.any():  # a ruled page: the pieces of its other rules, cut by the writing, are rules too
            is_rule |= collinear_pieces(stats, axis, thin, min_span * length)
            found = np.zeros_like(mask)
            found[top:top + box_height, left:left + box_width] = np.where(is_rule[labels], 255, 0)
            rules = found if rules is None else cv2.bitwise_or(rules, found)
    if rules is None:
        return None
    # Grow the rules by a pixel to take their anti-aliased edges too.
    return cv2.dilate(rules, np.ones((3, 3), np.uint8))


def digit_strokes_only(joined: np.ndarray, labels: np.ndarray, stats: np.ndarray, offset: tuple[int, int],
                       axis: int, candidates: np.ndarray) -> bool:
    """Whether every candidate rule along ``axis`` (rows of ``stats``, the runs' components labelled
    in ``labels``, ``offset`` = (left, top) of that band in ``joined``) is a stroke of a big digit
    written with a thin pen -- a 7's bar, a 2's base, a 4's stem -- rather than a printed line.

    A stroke ends inside the frame (a rule runs on to near its edge, :data:`RULE_REACH`) and belongs
    to a digit-shaped piece of ink: across the page no wider than :data:`SPAN_ASPECT` x its height,
    down it no taller than :data:`STEM_ASPECT` x its width (and wider than a line,
    :data:`LINE_ACROSS`), holding no other run that way (a printed box's top and bottom) and, down
    the page, at most :data:`TALLEST_STROKE` x as tall as any other writing. Alone, a straight line
    down the page is a 1; alone across it, a dash or an underline (a rule as before).
    One candidate that is no stroke makes the page a ruled one, and all of them stay rules: a
    rule's piece between two big digits can look like either's stroke.
    """
    height, width = joined.shape
    length = width if axis == 1 else height
    along = 0 if axis == 1 else 1  # stats column of the start along the axis (left or top)
    spans = stats[:, 2 + along]
    rows = np.flatnonzero(candidates)
    reach = max(3.0, RULE_REACH * length)
    starts = stats[rows, along] + offset[along]
    if (starts <= reach).any() or (starts + spans[rows] >= length - reach).any():
        return False  # a run out to the frame's edge: a ruled page, not worth labelling its ink
    # Pieces of the digit a pen stroke's gap apart either way count as touching it (the bar of a 4
    # stopping short of its stem).
    across_kernel = np.ones((1, 9) if axis == 0 else (9, 1), np.uint8)
    _, ink_labels, ink_stats = component_stats(cv2.morphologyEx(joined, cv2.MORPH_CLOSE, across_kernel))
    band = ink_labels[offset[1]:offset[1] + labels.shape[0], offset[0]:offset[0] + labels.shape[1]]
    # A run lies within one component of the ink it was opened from; an opening by an even-length
    # line shifts it a pixel, off the ink, so only its pixels on ink say which component.
    on = (labels > 0) & (band > 0)
    component = np.zeros(len(stats), np.int64)
    component[labels[on]] = band[on]
    runs_per_piece = np.bincount(component[rows])
    # The rest of the writing: the ink holding no candidate (with none, two lines down an empty page are margins).
    other = np.ones(len(ink_stats), bool)
    other[0] = False
    other[component[rows]] = False
    tallest_other = int(ink_stats[other, cv2.CC_STAT_HEIGHT].max()) if other.any() else 0
    for row in rows:
        piece = component[row]
        if piece == 0 or runs_per_piece[piece] > 1:  # two sides of one printed box (a digit has one such stroke)
            return False
        ink_width, ink_height = ink_stats[piece, 2:4]
        extent, breadth = (ink_width, ink_height) if axis == 1 else (ink_height, ink_width)
        if breadth < LINE_ACROSS * extent:  # a line on its own: a 1 down the page, a dash across it
            if axis == 1:
                return False
        elif extent > (SPAN_ASPECT * breadth if axis == 1 else STEM_ASPECT * breadth):
            return False
        # A digit is about as tall as the rest of the writing: a line down the page several
        # times taller than any of it is a margin stopping short of the frame.
        if axis == 0 and (ink_height > TALLEST_STROKE * tallest_other if tallest_other else rows.size > 1):
            return False
    return True


def collinear_pieces(stats: np.ndarray, axis: int, thin: np.ndarray, reach: float) -> np.ndarray:
    """(n,) bool over :func:`component_stats` rows of runs along ``axis`` (1: rows, 0: columns;
    row 0 the background, never set): the thin runs that are pieces of one rule cut by the
    writing -- thin runs on one line whose pieces reach at least ``reach`` pixels from the first
    one's start to the last one's end and cover ``RULE_PIECES_COVER`` of that. A big digit on squared paper cuts
    every line it crosses into pieces shorter than any one rule test allows. Only looked for on a
    page with whole rules along ``axis`` (see :func:`find_rules`): a big digit's long stroke,
    broken by a thin pen, would pass too."""
    along, across = (0, 1) if axis == 1 else (1, 0)  # (left, top) or (top, left) in the stats
    start, span = stats[:, along], stats[:, 2 + along]
    centre = stats[:, across] + stats[:, 2 + across] / 2
    found = np.zeros(len(stats), bool)
    candidates = np.flatnonzero(thin)
    candidates = candidates[candidates > 0]
    candidates = candidates[np.argsort(centre[candidates], kind="stable")]
    group: list[int] = []
    for index in [*candidates, -1]:  # -1 closes the last group
        if group and (index < 0 or centre[index] - centre[group[0]] > COLLINEAR_PX):
            first = min(start[k] for k in group)
            last = max(start[k] + span[k] for k in group)
            covered = sum(span[k] for k in group)
            if len(group) > 1 and last - first >= reach and covered >= RULE_PIECES_COVER * (last - first):
                found[group] = True
            group = []
        if index >= 0:
            group.append(index)
    return found


def long_runs(binary: np.ndarray, length: int, axis: int) -> np.ndarray | None:
    """The pixels of runs at least ``length`` long along rows (``axis`` 1) or columns (0) of a
    0/255 mask: its opening by a ``length`` line, exactly, or ``None`` when there are none.

    A line opening treats each row (column) on its own, so only those with enough set pixels can
    keep any; on a page of digits they are few or none, and the opening -- a min and a max over
    ``length`` pixels at every pixel -- is run on those alone. Enough is half of ``length``, not
    all of it: OpenCV's erosion counts the outside of the image as set, so a run from the image's
    edge survives from half the line's length (and a line shorter than that, when it is full).
    """
    counts = cv2.reduce(cv2.threshold(binary, 0, 1, cv2.THRESH_BINARY)[1], axis, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    lines = np.flatnonzero(counts.ravel() >= min((length + 1) // 2, binary.shape[axis]))
    if lines.size == 0:
        return None
    # Columns are opened as rows: OpenCV's vertical line filters are several times slower than
    # its horizontal ones on a narrow image (0.6 vs 0.07 ms for 40 columns of 480 rows).
    picked = binary[lines] if axis == 1 else np.ascontiguousarray(binary[:, lines].T)
    opened = cv2.morphologyEx(picked, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    if not opened.any():
        return None
    runs = np.zeros_like(binary)
    if axis == 1:
        runs[lines] = opened
    else:
        runs[:, lines] = opened.T
    return runs


def erase_rules(mask: np.ndarray, rules: np.ndarray | None, stroke: float = 0.0,
                contrast: np.ndarray | None = None) -> np.ndarray:
    """``mask`` without ``rules`` (from :func:`find_rules`). Where a pen stroke crossed a rule the
    gap left behind is closed again across the rule's thickness; with the pen's width ``stroke``,
    ink as wide as the pen is kept over the rules; with the ink ``contrast`` (H, W) float32, ink
    clearly darker than the rules is kept over them (:func:`ink_over_rules`)."""
    if rules is None:
        return mask
    cleaned = cv2.bitwise_and(mask, cv2.bitwise_not(rules))
    # Refill stroke pixels that crossed a rule: a short closing across each rule direction.
    bridged = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, np.ones((9, 1), np.uint8))
    bridged = cv2.morphologyEx(bridged, cv2.MORPH_CLOSE, np.ones((1, 9), np.uint8))
    refill = cv2.bitwise_and(bridged, rules)
    if contrast is not None:
        refill = cv2.bitwise_or(refill, ink_over_rules(mask, rules, contrast))
    size = pen_opening(stroke, rule_width(mask, rules))
    if size:
        # A pen clearly wider than the rules survives an opening that erases the rules: wherever it
        # does, the ink over the rule is the pen's (a digit's bar lying along a rule stays whole).
        pen = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
        refill = cv2.bitwise_or(refill, cv2.bitwise_and(cv2.dilate(pen, np.ones((3, 3), np.uint8)), rules))
    return cv2.bitwise_or(cleaned, refill)


def ink_over_rules(mask: np.ndarray, rules: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """0/255 mask of the ink on the rules that is clearly darker than the rules themselves.

    A pen stroke lying along a rule (the base of a 2, the bar of a 4 or 7) or crossing it is ink
    on top of the printed line: darker than the rule alone, whatever the pen's width, so it is
    told from the rule by its contrast where an opening cannot (a ballpoint is no wider than the
    rules). A rule's own level is the median contrast of the ink under the rules (rules are most
    of it), taken separately for the horizontal rules and the rest: a red margin line is darker
    than pale blue rules and is no ink.
    """
    on_rules = cv2.bitwise_and(mask, rules)
    # Vertical rules (margins) fill a few columns over much of the height; digits never do.
    columns = np.count_nonzero(on_rules, axis=0) >= VERTICAL_RULE_SHARE * mask.shape[0]
    columns = cv2.dilate(columns.astype(np.uint8)[None, :], np.ones((1, 5), np.uint8)).astype(bool)[0]
    vertical = np.zeros_like(on_rules)
    vertical[:, columns] = on_rules[:, columns]
    kept = np.zeros_like(mask)
    for part in (vertical, cv2.bitwise_and(on_rules, cv2.bitwise_not(vertical))):
        values = contrast[part > 0]
        if values.size == 0:
            continue
        level = float(np.median(values[:: max(1, values.size // 4096)]))  # a sample is plenty for a median
        darker = (contrast > max(RULE_INK_RATIO * level, level + RULE_INK_MARGIN)).astype(np.uint8) * 255
        kept = cv2.bitwise_or(kept, cv2.bitwise_and(part, darker))
    return kept


def thin_rule_px(shape: tuple[int, int]) -> float:
    """The widest a printed rule is in an ink mask of this (H, W): a few pixels, more in a big frame."""
    return max(4.0, 0.008 * min(shape))


def rule_width(mask: np.ndarray, rules: np.ndarray) -> float:
    """Width in pixels of the rules as the ink mask has them (blur and anti-aliasing make a 1 px
    printed line 3 px wide there), at most what :func:`find_rules` calls thin (wider, the "rules"
    are a digit's straight bar: the pen's width).

    Measured like :func:`stroke_width` on the mask's ink under the rules, but at the 90th
    percentile: a rule is 2 px wide in some columns and 3 px in others, and an opening must erase
    the widest stretch.
    """
    distance = ink_distance(cv2.bitwise_and(mask, rules))
    ridge = centre_lines(distance)
    if not ridge.any():
        return 0.0
    return min(float(max(2.0 * np.percentile(distance[ridge], 90) - 0.5, 1.0)), thin_rule_px(mask.shape))


def pen_opening(stroke: float, rules: float) -> int:
    """Diameter (odd, px) of the opening that erases the rules but keeps the pen (0: none does).

    An opening removes everything thinner than its diameter, so it must be wider than the rules
    as thresholded, not only a fraction of the pen; when the pen is not clearly wider than that,
    the two cannot be told apart by width and nothing is kept over the rules.
    """
    if stroke < THICK_PEN_PX:
        return 0
    size = max(int(round(RULE_OPENING * stroke)), int(np.ceil(rules)) + 1) | 1
    return size if size <= RULE_PEN_SHARE * stroke else 0


def _pieces_of_one_digit(a: list[int], b: list[int]) -> bool:
    """Stacked with a large horizontal overlap and a small vertical gap (the detached bar of a 5, a
    broken 4), or nested -- but not two digits written one above the other (then the pair is
    about twice as tall as either)."""
    overlap_x = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    gap_y = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
    taller = max(a[3], b[3])
    union_height = max(a[1] + a[3], b[1] + b[3]) - min(a[1], b[1])
    return (overlap_x >= 0.5 * min(a[2], b[2]) and gap_y <= 0.25 * taller
            and union_height <= STACKED_PIECES * taller)


def _merge_broken_strokes(boxes: list[list[int]]) -> list[list[int]]:
    """Join components that are pieces of one digit (see :func:`_pieces_of_one_digit`) until
    nothing changes. ``[x, y, w, h, area]`` lists in, merged lists out."""
    boxes = sorted(boxes, key=lambda b: b[0])
    changed = True
    while changed:
        changed = False
        merged: list[list[int]] = []
        for box in boxes:  # left to right: only boxes that reach past this one's left edge can overlap it
            for k in range(len(merged) - 1, -1, -1):
                a = merged[k]
                if a[0] + a[2] > box[0] and _pieces_of_one_digit(a, box):
                    x0, y0 = min(a[0], box[0]), min(a[1], box[1])
                    x1, y1 = max(a[0] + a[2], box[0] + box[2]), max(a[1] + a[3], box[1] + box[3])
                    merged[k] = [x0, y0, x1 - x0, y1 - y0, a[4] + box[4]]
                    changed = True
                    break
            else:
                merged.append(box)
        boxes = sorted(merged, key=lambda b: b[0])
    return boxes


def candidate_boxes(mask: np.ndarray, config: FindConfig = FindConfig(), *, stroke: float = 0.0,
                    clean: bool = False) -> list[Box]:
    """Digit-sized, digit-shaped ink regions of a 0/255 mask, as (x, y, w, h) boxes: see
    :func:`boxes_and_ink`, which also gives the mask they were found in."""
    return boxes_and_ink(mask, config, stroke=stroke, clean=clean)[0]


def boxes_and_ink(mask: np.ndarray, config: FindConfig = FindConfig(), *, stroke: float = 0.0,
                  clean: bool = False) -> tuple[list[Box], np.ndarray]:
    """Digit-sized, digit-shaped ink regions of a 0/255 mask, as (x, y, w, h) boxes.

    Sizes are judged against the pen: a component must be a few strokes tall to be a digit, and
    gaps up to about a stroke wide are bridged first. In a clean (two-level) image a digit may fill
    it and touch its border (a crop, a canvas); in a photo, ink touching the border and spanning
    most of the frame is a paper edge or a shadow. The mask comes back as the array given unless
    boxes round the digits (a form's cells) were taken out of it.
    """
    height, width = mask.shape
    # Closing bridges breaks in a stroke before components are counted.
    bridge = max(3, int(round(stroke * BRIDGE_STROKES)) | 1)
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((bridge, bridge), np.uint8))
    count, labels, stats = component_stats(closed)
    frames = cell_frames(labels, stats) if "cell-frames" in config.steps else []
    if frames:  # boxes round the digits not taken out with the rules (_rules_of); the digits are what is left
        mask = _without_lines(mask, stats, frames)
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((bridge, bridge), np.uint8))
        count, labels, stats = component_stats(closed)
    min_area = max(6, (config.min_height_px // 3) ** 2, int(stroke * stroke))
    # The band: a frame's thickness, at most a few percent of the image (a 28x28 crop's digit
    # sits 4 px from its border).
    band = max(1, min(int(round(1.5 * stroke)), int(0.04 * min(height, width))))
    rejected = (border_huggers(labels, count, band, stats[:, cv2.CC_STAT_AREA]) if "border-frames" in config.steps
                else np.zeros(count, bool))
    if not clean and "cut-by-edge" in config.steps:
        # In a photo a digit cut by the frame's edge (more than a couple of strokes' width of it
        # on the border) is half a digit: the camera sees the rest of the page beyond it.
        # A digit filling much of the image is the subject of a tight crop, not cut off.
        small = (stats[:, cv2.CC_STAT_HEIGHT] < 0.5 * height) & (stats[:, cv2.CC_STAT_WIDTH] < 0.5 * width)
        rejected |= small & (border_contact(labels, count) > CUT_BY_EDGE_STROKES * max(stroke, 2.0))
    raw = [[int(x), int(y), int(w), int(h), int(area)]
           for (x, y, w, h, area), skip in zip(stats[1:], rejected[1:], strict=True)
           if area >= min_area and not skip]
    if len(raw) > 4 * config.max_digits:  # texture or noise: not worth the pairwise merge
        raw = sorted(raw, key=lambda b: -b[4])[: 4 * config.max_digits]
    boxes = _merge_broken_strokes(raw)

    min_height = max(config.min_height_px, config.min_height_fraction * height, MIN_HEIGHT_STROKES * stroke)
    kept = []
    for x, y, w, h, area in boxes:
        # In a photo, a band of ink from one border to the opposite one, along a side of the frame,
        # is a page edge or a shadow (a digit filling a tight crop spans it too, but centrally).
        spans_frame = ((x <= 0 and x + w >= width and h < 0.5 * height
                        and (y + h < EDGE_BAND * height or y > (1 - EDGE_BAND) * height))
                       or (y <= 0 and y + h >= height and w < 0.5 * width
                           and (x + w < EDGE_BAND * width or x > (1 - EDGE_BAND) * width)))
        aspect = w / h
        fill = area / (w * h)
        # Ink much finer than the page's pen: a printed rule's remnant or a margin line, not writing.
        hairline = "hairline" in config.steps and stroke > 0 and area / max(w, h) < HAIRLINE_FRACTION * stroke
        # Wider than a digit can be: a rule or an underline, unless several strokes cross its columns
        # on average -- touching digits, which the classifier will cut (see split_lattice).
        too_wide = aspect > config.max_aspect and not (
            "splits" in config.steps and aspect <= WIDE_ASPECT and area >= DENSE_STROKES * max(stroke, 1.0) * w)
        if (h < min_height or too_wide or (fill > config.max_fill and aspect > 0.35)
                or (spans_frame and not clean) or hairline):
            continue
        kept.append((x, y, w, h))
    if len(kept) > config.max_digits:
        return [], mask
    return kept, mask


def component_stats(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(count, labels, stats)`` exactly as ``cv2.connectedComponentsWithStats(binary,
    connectivity=8)`` gives them (without centroids), for a (H, W) uint8 image, non-zero = set.

    OpenCV's statistics visit every pixel of the frame, background included, and cost about ten
    times the labelling itself (3.5 ms vs 0.3 ms on a 640x480 frame, one core); ink is a few
    percent of a page, so they are computed here from the set pixels only. Dense images (a
    noise field) go to OpenCV, where sorting the pixels would cost more.
    """
    height, width = binary.shape
    points = cv2.findNonZero(binary) if binary.size else None
    total = 0 if points is None else len(points)
    if total * SPARSE_INK > binary.size:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        return count, labels, stats
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    stats = np.zeros((count, 5), np.int32)
    if total:
        xs, ys = points.reshape(-1, 2).T  # in raster order: rows ascending
        owner = labels[ys, xs]
        order = np.argsort(owner, kind="stable")  # by label; raster order within each
        xs, ys = xs[order], ys[order]
        starts = np.searchsorted(owner[order], np.arange(1, count))
        ends = np.append(starts[1:], total)
        stats[1:, cv2.CC_STAT_LEFT] = np.minimum.reduceat(xs, starts)
        stats[1:, cv2.CC_STAT_TOP] = ys[starts]
        stats[1:, cv2.CC_STAT_WIDTH] = np.maximum.reduceat(xs, starts) - stats[1:, cv2.CC_STAT_LEFT] + 1
        stats[1:, cv2.CC_STAT_HEIGHT] = ys[ends - 1] - ys[starts] + 1
        stats[1:, cv2.CC_STAT_AREA] = ends - starts
    # The background (label 0): its box spans the rows and columns that hold a zero; with ink
    # sparse, those are found a line or two in from each side.
    empty_rows = [_first_unset(binary), height - 1 - _first_unset(binary[::-1])]
    empty_cols = [_first_unset(binary.T), width - 1 - _first_unset(binary.T[::-1])]
    stats[0] = (empty_cols[0], empty_rows[0], empty_cols[1] - empty_cols[0] + 1,
                empty_rows[1] - empty_rows[0] + 1, binary.size - total)
    return count, labels, stats


def _first_unset(lines: np.ndarray) -> int:
    """Index of the first line (row of ``lines``) holding a zero; only called with one present."""
    for index, line in enumerate(lines):
        if not line.all():
            return index
    raise ValueError("no zero in the image")  # unreachable: component_stats sends full images to OpenCV


def strip_frame(mask: np.ndarray, depth: int) -> np.ndarray:
    """Clear a frame drawn along the image's sides (a canvas border, a scan's dark edge): from each
    side inwards, up to ``depth`` rows or columns that are mostly ink. A digit touching the border
    never covers most of a side, so it is left whole."""
    mask = mask.copy()
    height, width = mask.shape
    for lines, length in ((mask, width), (mask[::-1], width), (mask.T, height), (mask.T[::-1], height)):
        for index in range(min(depth, len(lines))):
            if np.count_nonzero(lines[index]) < FRAME_FILL * length:
                break
            lines[index] = 0  # a view: clears the mask itself
    return mask


def border_huggers(labels: np.ndarray, count: int, band: int, areas: np.ndarray | None = None) -> np.ndarray:
    """(count,) bool: components with most of their pixels within ``band`` pixels of the image
    border -- a canvas frame, a paper edge, a scanner's margin -- rather than a digit touching it."""
    height, width = labels.shape
    if height <= 2 * band or width <= 2 * band:
        return np.zeros(count, bool)
    total = np.bincount(labels.ravel(), minlength=count) if areas is None else areas
    strips = (labels[:band].ravel(), labels[height - band:].ravel(),
              labels[band:height - band, :band].ravel(), labels[band:height - band, width - band:].ravel())
    near_border = np.bincount(np.concatenate(strips), minlength=count)
    return near_border > BORDER_HUGGING * np.maximum(total, 1)


def border_contact(labels: np.ndarray, count: int) -> np.ndarray:
    """(count,) int: how many of each component's pixels lie on the image's outermost rows and columns."""
    edge = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    return np.bincount(edge, minlength=count)


def tallest_in_line(boxes: list[Box], lines: list[int]) -> dict[int, int]:
    """Line number -> the height of its tallest box."""
    tallest: dict[int, int] = {}
    for (_, _, _, h), line in zip(boxes, lines, strict=True):
        tallest[line] = max(tallest.get(line, 0), h)
    return tallest


def small_for_line(boxes: list[Box], lines: list[int], relative_height: float) -> list[bool]:
    """True for boxes shorter than ``relative_height`` x the tallest box of their line: specks,
    dashes, or a small zero. The classifier decides (see :class:`Segmentation.optional`)."""
    tallest = tallest_in_line(boxes, lines)
    return [h < relative_height * tallest[line] for (_, _, _, h), line in zip(boxes, lines, strict=True)]


def page_skew(boxes: list[Box]) -> float:
    """The slope (rows per column) of the lines of writing, 0 when the boxes do not show one.

    Each box is paired with its nearest box to the right of about its height (the pieces of a
    broken stroke or a small zero sit off the line's centre) within :data:`SKEW_LIMIT_DEGREES` of
    level and :data:`SKEW_REACH` heights; the median of their slopes is the skew when at least
    :data:`SKEW_MIN_PAIRS` pairs show it and most of them agree with it (a digit and the one
    diagonally below it on the next line are a pair too, and must not tilt a page of two lines).
    A page photographed turned a few degrees puts the widely spaced digits of one line further
    apart in height than any level test allows."""
    if len(boxes) <= SKEW_MIN_PAIRS:
        return 0.0
    x, y, w, h = np.asarray(boxes, np.float64).T
    dx = (x + w / 2)[None, :] - (x + w / 2)[:, None]  # [i, j]: from box i to box j
    dy = (y + h / 2)[None, :] - (y + h / 2)[:, None]
    reach = SKEW_REACH * np.maximum(h[:, None], h[None, :])
    alike = np.minimum(h[:, None], h[None, :]) >= SKEW_ALIKE * np.maximum(h[:, None], h[None, :])
    candidate = alike & (dx > 0) & (dx <= reach) & (np.abs(dy) <= np.tan(np.radians(SKEW_LIMIT_DEGREES)) * dx)
    has = candidate.any(axis=1)
    if has.sum() < SKEW_MIN_PAIRS:
        return 0.0
    nearest = np.where(candidate, np.hypot(dx, dy), np.inf).argmin(axis=1)[has]
    rows = np.flatnonzero(has)
    slopes = dy[rows, nearest] / dx[rows, nearest]
    skew = float(np.median(slopes))
    agree = np.abs(np.degrees(np.arctan(slopes)) - np.degrees(np.arctan(skew))) <= SKEW_AGREE_DEGREES
    return skew if agree.mean() > 0.5 else 0.0


def level_ink(ink: np.ndarray, skew: float) -> np.ndarray:
    """A digit's ink (float, ink bright) turned so that a line with slope ``skew`` (rows per column)
    would be level, cut to its new extent; unchanged under :data:`LEVEL_MIN_DEGREES`. The
    classifier learnt upright digits (turned at most 12 degrees in training): the digits of a page
    turned in the camera read better turned back."""
    degrees = float(np.degrees(np.arctan(skew)))
    if abs(degrees) < LEVEL_MIN_DEGREES:
        return ink
    height, width = ink.shape
    side = int(np.ceil(np.hypot(height, width))) + 2
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    matrix[:, 2] += ((side - width) / 2, (side - height) / 2)
    turned = cv2.warpAffine(ink, matrix, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
    rows, cols = np.nonzero(turned > 0)
    if rows.size == 0:
        return ink
    return turned[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def reading_order(boxes: list[Box], skew: float | None = None, pieces: bool = True,
                  drift: bool = False) -> tuple[list[Box], list[int]]:
    """Sort boxes into lines (top to bottom), each left to right; return boxes and line numbers.

    Lines are followed left to right: a box continues the line whose latest box, or the one
    before it, is level with it (centres within half the taller's height, or overlapping by half
    the shorter), so lines written uphill and closely spaced lines both stay apart, and the lower
    piece of a broken stroke stays in the line its upper piece joined. With ``pieces``, two boxes
    one above the other, together no taller than the page's median box and with centres within
    half of it, are level too: the halves of a digit broken across its middle stay in one line
    (to be joined, see :func:`join_candidates`). Heights are compared
    along the page's ``skew`` (rows per column; measured by :func:`page_skew` when not given), so
    a page turned in the camera keeps its lines. With ``drift``, lines are then chained end to
    start (:func:`continue_lines`).
    """
    if skew is None:
        skew = page_skew(boxes)

    def top(box: Box) -> float:  # the box's top as if the page were level
        return box[1] - skew * (box[0] + box[2] / 2)

    typical = float(np.median([b[3] for b in boxes])) if boxes and pieces else 0.0  # the page's digit height

    def stacked(a: Box, b: Box) -> bool:  # one above the other, together no taller than a digit
        overlap_x = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
        return overlap_x >= 0.5 * min(a[2], b[2]) and max(a[1] + a[3], b[1] + b[3]) - min(a[1], b[1]) <= typical
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[0], b[1])):
        centre = top(box) + box[3] / 2
        best, best_distance = None, None
        for line in lines:
            for last in line[-2:]:
                distance = abs(centre - (top(last) + last[3] / 2))
                overlap = min(top(last) + last[3], top(box) + box[3]) - max(top(last), top(box))
                level = (distance <= 0.5 * max(box[3], last[3]) or overlap >= 0.5 * min(box[3], last[3])
                         or (distance <= 0.5 * typical and stacked(box, last)))
                if level and (best_distance is None or distance < best_distance):
                    best, best_distance = line, distance
        if best is None:
            lines.append([box])
        else:
            best.append(box)
    if drift:
        lines = continue_lines(lines, top)
    lines.sort(key=lambda line: float(np.median([top(b) + b[3] / 2 for b in line])))
    ordered, numbers = [], []
    for number, line in enumerate(lines):
        for box in line:  # already left to right
            ordered.append(box)
            numbers.append(number)
    return ordered, numbers


def continue_lines(lines: list[list[Box]], top) -> list[list[Box]]:
    """Lines (each left to right) with every line that starts just right of another's end, and
    level with it within a digit's height, appended to it: a line written sloping down or up the
    page (each digit half its height or more off the last, too far for the level tests) or a digit
    dropped below its neighbours is one line, not several. Lines one above the other never chain: the later one
    must start right of the other's last box. ``top(box)``: the box's top along the page's skew."""
    chained: list[list[Box]] = []
    ends: list[tuple[int, float, int]] = []  # per chained line: its right end, and its last box's centre and height
    for line in sorted(lines, key=lambda boxes: boxes[0][0]):
        first = line[0]
        centre = top(first) + first[3] / 2
        best, best_gap = None, None
        for index, (end, last_centre, last_height) in enumerate(ends):
            taller = max(first[3], last_height)
            gap = first[0] - end
            if (0 <= gap <= DRIFT_REACH * taller and (best_gap is None or gap < best_gap)
                    and abs(centre - last_centre) <= DRIFT_REACH * taller
                    and min(first[3], last_height) >= DRIFT_ALIKE * taller):
                best, best_gap = index, gap
        last = max(line, key=lambda box: box[0] + box[2])
        end = (last[0] + last[2], top(last) + last[3] / 2, last[3])
        if best is None:
            chained.append(list(line))
            ends.append(end)
        else:
            chained[best].extend(line)
            ends[best] = end
    return chained


def reading_text(lines_and_labels) -> str:
    """``[(line, label), …]`` in reading order -> "2048 17": each line's labels left to right, lines
    separated by one space. The one rule for a Reading's text and a synthetic scene's truth."""
    lines: dict[int, str] = {}
    for line, label in lines_and_labels:
        lines[line] = lines.get(line, "") + str(label)
    return " ".join(lines[number] for number in sorted(lines))


def mnist_like_pen(stroke: float, scale: float) -> bool:
    """Whether a pen ``stroke`` px wide, once its digit is scaled by ``scale`` into the 20x20 box,
    is within :data:`STROKE_KEEP` of MNIST's: left as it is."""
    return STROKE_KEEP[0] * MNIST_STROKE <= stroke * scale <= STROKE_KEEP[1] * MNIST_STROKE


def normalize_stroke(ink: np.ndarray, stroke: float, scale: float) -> np.ndarray:
    """Thicken or thin a digit's ink (float, ink bright) so that, once scaled by ``scale``, its
    strokes are about as wide as MNIST's: a hairline ballpoint and a fat marker both end up
    looking like the training data."""
    if stroke <= 0 or mnist_like_pen(stroke, scale):
        return ink  # within what the classifier reads well: leave it alone
    change = MNIST_STROKE / scale - stroke  # pixels of stroke width to add (or remove) before scaling
    size = int(round(abs(change)))
    if size < 1:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size + 1, size + 1))
    if change > 0:
        return cv2.dilate(ink, kernel)
    thinned = cv2.erode(ink, kernel)
    return thinned if thinned.max(initial=0) > 0 else ink


def normalize_digit(ink: np.ndarray, stroke: float = 0.0) -> np.ndarray:
    """One digit's ink (h, w), float in [0, 1] or uint8, ink bright -> (28, 28) uint8, MNIST-style.

    MNIST's recipe (LeCun et al.): scale the digit to fit a 20x20 box keeping its aspect ratio
    (anti-aliased), then place it in the 28x28 field so its centre of mass is at the centre.
    With ``stroke`` (the digit's stroke width in pixels) the pen is first made MNIST-wide.
    """
    if np.asarray(ink).dtype == np.uint8:
        ink = np.asarray(ink, dtype=np.float32) / 255.0
    ink = np.asarray(ink, dtype=np.float32)
    out = np.zeros((INPUT_HEIGHT, INPUT_WIDTH), np.float32)
    if ink.size == 0 or ink.max(initial=0) <= 0:
        return out.astype(np.uint8)
    height, width = ink.shape
    scale = MNIST_DIGIT_BOX / max(height, width)
    if stroke > 0 and max(height, width) > PEN_CHANGE_PX and not mnist_like_pen(stroke, scale):
        # The pen is changed at most PEN_CHANGE_PX tall: at a photo's full size the kernel is as
        # wide as the change (a marker digit 1,700 px tall took 0.45 s to thicken, 2 ms here).
        factor = PEN_CHANGE_PX / max(height, width)
        ink = cv2.resize(ink, (max(1, round(width * factor)), max(1, round(height * factor))),
                         interpolation=cv2.INTER_AREA)
        stroke, (height, width) = stroke * factor, ink.shape
        scale = MNIST_DIGIT_BOX / max(height, width)
    if stroke > 0:
        # One pixel of paper around it, so a stroke along the edge thickens outwards too (OpenCV's
        # border is ~7x quicker than np.pad on a crop, the same zeros).
        padded = cv2.copyMakeBorder(np.ascontiguousarray(ink), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        ink = normalize_stroke(padded, stroke, scale)[1:-1, 1:-1]
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(ink, (new_w, new_h), interpolation=interpolation)
    total = small.sum()
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    # MNIST's centres of mass sit at pixel index (14.0, 14.0) (measured on the test set: mean
    # 13.99/14.00, sd 0.29), not at the geometric centre 13.5; integer shift, clipped inside.
    top = int(np.clip(round(INPUT_HEIGHT / 2 - cy), 0, INPUT_HEIGHT - new_h))
    left = int(np.clip(round(INPUT_WIDTH / 2 - cx), 0, INPUT_WIDTH - new_w))
    out[top:top + new_h, left:left + new_w] = small
    return (np.clip(out, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def percentile(values: np.ndarray, q: float) -> float:
    """``float(np.percentile(values, q))`` for a non-empty 1-D float32 array without NaNs, bit for
    bit (numpy's linear method, its own float32 arithmetic), at a fifth of the cost: numpy's
    generic path takes ~50 us a call, and the finder calls it for every crop it cuts."""
    count = values.size
    fraction = q / 100
    virtual = (count - 1) * fraction  # numpy's virtual index for its "linear" method, exactly as it computes it
    if virtual >= count - 1:
        return float(values.max())
    if virtual <= 0:
        return float(values.min())
    below = int(virtual)
    gamma = virtual - below
    low, high = np.partition(values, (below, below + 1))[below:below + 2]
    difference = high - low  # float32, as numpy's _lerp computes it
    if gamma >= 0.5:
        return float(high - difference * np.float32(1 - gamma))
    return float(low + difference * np.float32(gamma))


def without_specks(mask: np.ndarray, stroke: float) -> np.ndarray:
    """A digit box's 0/255 ``mask`` without its specks: pieces of ink under ``SPECK_STROKES`` x the
    pen's ``stroke`` squared and more than ``SPECK_CLEAR`` strokes from the bigger pieces (a noisy
    stroke's crumbs lie along it) and clear of the box's sides (what reaches in across them is a
    neighbour's), when there are at least ``SPECKS_MANY`` of them (a grainy paper's fibres, not
    the few pieces of a broken stroke). Otherwise the mask itself."""
    if stroke <= 0 or not mask.size:
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h = (stats[:, i] for i in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    inside = (x > 0) & (y > 0) & (x + w < mask.shape[1]) & (y + h < mask.shape[0])  # a neighbour's stroke reaches in
    specks = (stats[:, cv2.CC_STAT_AREA] < SPECK_STROKES * stroke * stroke) & inside
    specks[0] = False  # the paper
    if specks.sum() < SPECKS_MANY or specks[1:].all():
        return mask
    reach = 2 * int(np.ceil(SPECK_CLEAR * stroke)) + 1
    bigger = np.where(specks[labels], 0, mask).astype(np.uint8)
    near = np.zeros(count, bool)
    near[labels[cv2.dilate(bigger, np.ones((reach, reach), np.uint8)) > 0]] = True
    clear = specks & ~near
    return np.where(clear[labels], 0, mask).astype(np.uint8) if clear.sum() >= SPECKS_MANY else mask


def boxes_without_specks(mask: np.ndarray, boxes: list[Box], stroke: float) -> np.ndarray:
    """``mask`` with each box's specks (:func:`without_specks`) taken out, judged on the mask as
    given, so overlapping boxes give the same result in any order; the mask itself when none go."""
    cleaned = mask
    for x, y, w, h in boxes:
        region = mask[y:y + h, x:x + w]
        if (kept := without_specks(region, stroke)) is not region:
            cleaned = mask.copy() if cleaned is mask else cleaned
            np.minimum(cleaned[y:y + h, x:x + w], kept, out=cleaned[y:y + h, x:x + w])
    return cleaned


def digit_ink(contrast: np.ndarray, mask: np.ndarray, box: Box) -> np.ndarray:
    """The ink of the digit in ``box``: contrast inside the (slightly grown) mask, scaled so its
    strokes saturate like MNIST's."""
    x, y, w, h = box
    region = contrast[y:y + h, x:x + w]
    region_mask = mask[y:y + h, x:x + w]
    # Keep the anti-aliased rim of the strokes, but only around this digit's own pixels.
    grown = cv2.dilate(region_mask, np.ones((3, 3), np.uint8))
    strokes = region[region_mask > 0]
    if strokes.size == 0:
        return np.zeros((h, w), np.float32)
    full = max(percentile(strokes, 75), 1e-3)
    return np.where(grown > 0, np.clip(region / full, 0.0, 1.0), 0.0).astype(np.float32)


def _without_frame(mask: np.ndarray, config: FindConfig) -> np.ndarray:
    if "border-frames" not in config.steps:
        return mask
    return strip_frame(mask, depth=max(2, int(FRAME_DEPTH * min(mask.shape))))


def _rules_of(mask: np.ndarray, config: FindConfig) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(mask, its rules: :func:`find_rules`, whether it had any). On a page with rules, boxes round
    the digits are taken out first (:func:`erase_cell_frames`): their sides are short rules, and
    erased as rules they would leave their uprights standing, read as 1s. A form whose cells were
    its only lines then has no rules left, but it had some."""
    strokes = "digit-strokes" in config.steps
    rules = find_rules(mask, digit_strokes=strokes)
    # Not on squared paper (rules down the page as well as across it): its grid is no box round a
    # digit, and the rules keep the pen's ink where it crosses them.
    if (rules is not None and "cell-frames" in config.steps
            and long_runs(rules, int(FRAME_MAX_SPAN * mask.shape[0]), 0) is None):
        unframed = erase_cell_frames(mask)
        if unframed is not mask:
            return unframed, find_rules(unframed, digit_strokes=strokes), True
    return mask, rules, rules is not None


def cell_frames(labels: np.ndarray, stats: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The components (``labels`` and ``stats`` as :func:`component_stats` gives them) that are
    boxes round digits, each as (label, (h, w) bool pixels of its lines within its bounding box):
    its four sides, and the walls between the cells of a row of them. A frame's lines run the
    length of the sides of its box (:data:`FRAME_SIDE_COVER`; the box may lie inside the
    component's when a digit runs out over it, :func:`_frame_inside`), and they are thin for its
    size (:data:`FRAME_THIN`) or it holds other ink; a square 0 drawn with a pen is neither."""
    found = []
    height, width = labels.shape
    big = np.flatnonzero((stats[:, cv2.CC_STAT_WIDTH] >= FRAME_MIN_PX) & (stats[:, cv2.CC_STAT_HEIGHT] >= FRAME_MIN_PX))
    for label in big[big > 0]:
        x, y, w, h, area = (int(v) for v in stats[label])
        # Each side of its box has ink along it, within a band as deep as a line (were it one)
        # and the drift a turned page gives it.
        reach = max(2, int(round(1.5 * area / (2.0 * (w + h)) + FRAME_TILT * min(w, h))))
        if 2 * reach >= min(w, h):
            continue  # a blob, not lines round a space
        # Each side's band, along the side by outward to inward.
        bands = [labels[y:y + reach, x:x + w].T, labels[y + h - reach:y + h, x:x + w][::-1].T,
                 labels[y:y + h, x:x + reach], labels[y:y + h, x + w - reach:x + w][:, ::-1]]
        bands = [band == label for band in bands]
        covers = [float(band.any(axis=1).mean()) for band in bands]
        component = (x, y, w, h)
        inside_component = min(covers) < FRAME_SIDE_COVER  # the frame's box is sought inside the component's
        if inside_component:
            # A digit that runs out over a side (a 5's bar past the wall) moves the component's
            # box off the frame's: look for the frame's sides within it -- when a side runs
            # most of the box (the spill shortens the sides it runs along) and is straight: its
            # ink starts the same way in all along it (a digit's curve does not).
            longest = int(np.argmax(covers))
            if covers[longest] < (1 - FRAME_SPILL) * FRAME_SIDE_COVER:
                continue  # most digits
            band = bands[longest]
            starts = np.sort(band.argmax(axis=1)[band.any(axis=1)])
            if starts[9 * len(starts) // 10] - starts[len(starts) // 10] > max(2.0, FRAME_TILT * len(band)):
                continue  # the middle 80% of it
            whole = labels[y:y + h, x:x + w] == label
            inner = _frame_inside(whole, reach)
            if inner is None:
                continue
            inside_ink = np.count_nonzero(whole[inner[1]:inner[1] + inner[3], inner[0]:inner[0] + inner[2]])
            if area - inside_ink > FRAME_SPILL_INK * area:
                continue  # touching digits whose middle one is boxy, not a box with a stroke out over it
            x, y, w, h = x + inner[0], y + inner[1], inner[2], inner[3]
            if min(w, h) < FRAME_MIN_PX or 2 * reach >= min(w, h):
                continue
        own = (labels[y:y + h, x:x + w] == label).astype(np.uint8)
        # A line's drift either way along its length: rules run the box's width, uprights its height.
        tilt, lean = max(1, int(round(FRAME_TILT / 2 * w))), max(1, int(round(FRAME_TILT / 2 * h)))
        # Its rules: rows (within the drift) with ink across most of it -- a top and a bottom line
        # at least a cell apart; then its uprights: columns with ink down most of the space between.
        rows = cv2.dilate(own, np.ones((2 * tilt + 1, 1), np.uint8)).mean(axis=1) >= FRAME_SIDE_COVER
        found_rows = np.flatnonzero(rows)
        if found_rows.size == 0 or found_rows[-1] - found_rows[0] < FRAME_MIN_PX:
            continue
        top, bottom = int(found_rows[0]), int(found_rows[-1])
        columns = cv2.dilate(own[top:bottom + 1], np.ones((1, 2 * lean + 1), np.uint8)).mean(axis=0) >= FRAME_SIDE_COVER
        found_columns = np.flatnonzero(columns)
        if found_columns.size == 0 or found_columns[-1] - found_columns[0] < FRAME_MIN_PX:
            continue
        across, down = _runs_of(rows), _runs_of(columns)
        if len(across) > 2 and len(down) > 2 and (w >= FRAME_MAX_SPAN * width or h >= FRAME_MAX_SPAN * height):
            continue  # a grid across the frame: squared paper, whose lines find_rules takes out, ink kept
        # The lines' pixels: along each line found, the straight line fitted through its ink, as
        # thick as it is -- not the band it was found in, which holds more of a digit touching it.
        # Each must be a line: straight and thin for the box (a fat 8 fills the bands along its sides).
        uprights = np.zeros_like(own)
        uprights[max(0, top - tilt):bottom + tilt + 1] = own[max(0, top - tilt):bottom + tilt + 1]
        found_lines = [_line_pixels(own, max(0, first - tilt), min(h - 1, last + tilt)) for first, last in across]
        found_lines += [_line_pixels(uprights.T, max(0, first - lean), min(w - 1, last + lean), transposed=True)
                        for first, last in down]
        sides = (found_lines[0], found_lines[len(across) - 1], found_lines[len(across)], found_lines[-1])
        if not all(thickness <= FRAME_LINE_SHARE * min(w, h) and share >= FRAME_STRAIGHT
                   for _, thickness, share, _ in sides):
            continue  # the outermost two each way, the box's sides, must be lines
        # Lines inside (the walls between cells) are as thin as the sides: a digit's stroke from
        # the top line to the bottom one (a 1 filling its cell) is thicker than printed lines.
        side_width = float(np.median([thickness for _, thickness, _, _ in sides]))
        lines = np.zeros((h, w), bool)
        for pixels, thickness, share, _ in found_lines:
            if thickness <= FRAME_WALL_WIDTH * side_width + 1 and share >= FRAME_STRAIGHT:
                lines |= pixels
        line_pixels = int(lines.sum())
        line_width = line_pixels / (2.0 * (w + h))
        thin = line_width <= FRAME_THIN * min(w, h)
        inside = labels[y + top:y + bottom + 1, x + int(found_columns[0]):x + int(found_columns[-1]) + 1]
        # Ink of its own well clear of its lines is a digit touching them (a rounded corner is not).
        clear = max(2, int(round(2 * line_width)))
        around = cv2.dilate(lines.astype(np.uint8), np.ones((2 * clear + 1,) * 2, np.uint8)).astype(bool)
        beyond = own.astype(bool) & ~around
        holds_ink = (bool(((inside > 0) & (inside != label)).any())
                     or int(beyond.sum()) >= max(25.0, 4.0 * line_width * line_width))
        # An empty box is a frame only if its sides are straight by their middles too: ink lying
        # along a line (see _line_pixels) can only be a digit, and an empty box holds none --
        # while a boxy 0 with a fine pen, whose corners curve away, would pass for one.
        centred = all(middles >= FRAME_STRAIGHT for _, _, _, middles in sides)
        if inside_component:
            widths = [thickness for _, thickness, _, _ in sides]
            if max(widths) > FRAME_WALL_WIDTH * min(widths) + 1:
                continue  # a box inside the component's has sides of one width: not touching digits' strokes
        if holds_ink or (thin and centred):
            if inside_component:  # the lines within the component's box, as _without_lines wants them
                placed = np.zeros((component[3], component[2]), bool)
                placed[y - component[1]:y - component[1] + h, x - component[0]:x - component[0] + w] = lines
                lines = placed
            found.append((int(label), lines))
    return found


def _frame_inside(own: np.ndarray, reach: int) -> tuple[int, int, int, int] | None:
    """The box (x, y, w, h within ``own``, a component's (h, w) bool pixels) whose four sides each
    have ink along :data:`FRAME_SIDE_COVER` of their length, within ``reach`` of the side: each
    side the outermost such line up to :data:`FRAME_SPILL` of the size in from the component's
    (a digit's stroke out past it crosses few of the side's rows). None when a side has none."""
    height, width = own.shape
    box = [0, 0, width, height]  # x0, y0, x1, y1

    def side(band: np.ndarray, cover_needed: float) -> int | None:
        # band: (length along the side, positions across it, outermost first); a line at a
        # position has ink within ``reach`` positions inward of it along the side's length.
        sums = np.cumsum(np.pad(band, ((0, 0), (1, 0))).astype(np.int32), axis=1)
        limit = band.shape[1] - reach + 1  # windows of ``reach`` positions that fit in the band
        if limit <= 0:
            return None
        cover = ((sums[:, reach:reach + limit] - sums[:, :limit]) > 0).mean(axis=0)
        lines = np.flatnonzero(cover >= cover_needed)
        if lines.size == 0:
            return None
        # The line lies in that band; the spilt stroke before it crosses few of the side's rows.
        counts = band[:, lines[0]:lines[0] + reach].sum(axis=0)
        return int(lines[0] + np.flatnonzero(counts >= 0.2 * counts.max())[0])

    # First with the spill's share of the length let off (a stroke out over the top shortens the
    # walls' share of the rows), then, within the box found, in full.
    for cover_needed in ((1 - FRAME_SPILL) * FRAME_SIDE_COVER, FRAME_SIDE_COVER):
        x0, y0, x1, y1 = box
        depth_x, depth_y = int(FRAME_SPILL * (x1 - x0)) + reach, int(FRAME_SPILL * (y1 - y0)) + reach
        left = side(own[y0:y1, x0:x0 + depth_x], cover_needed)
        right = side(own[y0:y1, max(x0, x1 - depth_x):x1][:, ::-1], cover_needed)
        if left is None or right is None:
            return None
        x0, x1 = x0 + left, x1 - right
        top = side(own[y0:y0 + depth_y, x0:x1].T, cover_needed)
        bottom = side(own[max(y0, y1 - depth_y):y1, x0:x1][::-1].T, cover_needed)
        if top is None or bottom is None:
            return None
        box = [x0, y0 + top, x1, y1 - bottom]
    x0, y0, x1, y1 = box
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def _runs_of(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in a 1-D bool array."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist(), strict=True))


def _line_pixels(own: np.ndarray, first: int, last: int,
                 transposed: bool = False) -> tuple[np.ndarray, float, float, float]:
    """A near-horizontal line of ``own`` (h, w uint8) that lies in rows ``first``-``last``: its
    pixels ((h, w) bool), its thickness and how straight it is. Each column's ink there has a
    middle; a straight line is fitted to those of the columns where the ink is as thin as the line
    usually is, then again to the columns near that line (a digit crossing, touching or running
    along the line pulls some away). Its pixels lie within half its thickness plus
    :data:`LINE_MARGIN_PX` of the line; straightness is the share of the box's length (its
    columns) with such pixels: where the line runs on, straight. Last, the share of columns
    whose middle lies that close: the line alone, with nothing along it.
    ``transposed``: ``own`` is a transposed box (the line an upright); the pixels come back as
    the box's."""
    strip = own[first:last + 1].astype(bool)
    columns = np.flatnonzero(strip.any(axis=0))
    if columns.size < 2:
        return np.zeros(own.T.shape if transposed else own.shape, bool), float("inf"), 0.0
    counts = strip[:, columns].sum(axis=0)
    middles = first + (strip[:, columns] * np.arange(strip.shape[0])[:, None]).sum(axis=0) / counts
    thickness = float(np.median(counts))
    near = counts <= 1.5 * thickness  # where a digit's stroke crosses or runs along it, the middle is off
    slope, offset = 0.0, float(np.median(middles))
    for _ in range(2):
        if near.sum() >= 2:
            slope, offset = np.polyfit(columns[near], middles[near], 1)
        near = np.abs(middles - (offset + slope * columns)) <= thickness / 2 + LINE_MARGIN_PX
    centre = offset + slope * np.arange(own.shape[1])
    distance = np.abs(np.arange(own.shape[0])[:, None] - centre[None, :])
    pixels = (distance <= thickness / 2 + LINE_MARGIN_PX) & own.astype(bool)
    # Straight: ink lies on the fitted line along most of the box. Judged by the line's own ink,
    # not by the middles: a digit crossing or running along a printed line pulls the middles of
    # those columns off it, but the line's ink is still there under the pen.
    straightness = float(pixels.any(axis=0).mean())
    return (pixels.T if transposed else pixels), thickness, straightness, float(near.sum()) / own.shape[1]


def erase_cell_frames(mask: np.ndarray) -> np.ndarray:
    """``mask`` (0/255) without the boxes round its digits (:func:`cell_frames`); the same array
    when there are none. A frame's sides are long straight runs, so a page without any is left
    alone at the cost of a look for them (:func:`long_runs`)."""
    height, width = mask.shape
    if min(height, width) < FRAME_MIN_PX or long_runs(mask, int(FRAME_MIN_PX), 1) is None:
        return mask
    _, labels, stats = component_stats(mask)
    frames = cell_frames(labels, stats)
    return _without_lines(mask, stats, frames) if frames else mask


def _without_lines(mask: np.ndarray, stats: np.ndarray, frames: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """A copy of ``mask`` with the lines of ``frames`` (from :func:`cell_frames`, whose boxes are
    ``stats``' rows) cleared."""
    mask = mask.copy()
    for label, lines in frames:
        x, y, w, h = (int(v) for v in stats[label, :4])
        mask[y:y + h, x:x + w][lines] = 0
    return mask


def ink_map(gray: np.ndarray, config: FindConfig = FindConfig(), *,
            small: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str, float, bool]:
    """(H, W) uint8 grey -> (contrast, mask, polarity, stroke width, clean).

    A clean two-level image (drawing, scan, crop) is thresholded globally at Otsu's level, unless
    its "ink" is no writing (:func:`has_blob`, :func:`encloses_writing`). A photo gets a local
    background: a first pass with a frame-sized window (and, with ``page-edges``, a closing a
    third as wide: :func:`page_background`) measures the stroke width; then the background is
    estimated again where the pen calls for it -- a window of a few stroke widths when the pen
    is too fat for the first (a digit filling the frame stays solid), and a closing as wide when
    that is much narrower than the first (no sliver of paper beyond a shadow's rounded corner),
    kept only if it keeps most of the first pass's ink. ``small``: ``quarter(gray,
    background_scale(gray.shape))``, when the caller has it already.
    """
    return _ink_and_lines(gray, config, small=small)[:5]


def _ink_and_lines(gray: np.ndarray, config: FindConfig = FindConfig(), *,
                   small: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str, float, bool, bool]:
    """:func:`ink_map`, and whether the page has rules (or a form's lines) taken out of the ink."""
    if "two-level" in config.steps and is_two_level(gray):
        polarity = two_level_polarity(gray) if config.polarity == "auto" else config.polarity
        threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        paper_side = gray > threshold if polarity == "dark" else gray <= threshold
        paper = np.full_like(gray, int(np.median(gray[paper_side])) if paper_side.any() else 0)
        contrast = ink_contrast(gray, paper, polarity)
        mask = _without_frame((~paper_side).astype(np.uint8) * 255, config)
        ridges = pen_ridges(mask, border=frame_border(mask.shape)) if mask.any() else None
        stroke = pen_width(ridges) if ridges is not None else 0.0
        blob = ridges is not None and holds_blob(ridges)
        if not blob and not encloses_writing(mask, stroke):
            return contrast, mask, polarity, stroke, True, False
        # A solid region as dark as the ink (a shadow, a table beside the page) is no pen stroke:
        # this is a photo after all.
    # Every background below is estimated on the same shrunk frame: shrink it once.
    small = quarter(gray, background_scale(gray.shape)) if small is None else small
    background = estimate_background(gray, small=small)
    # The vote leaves out a band along the sides, where a canvas frame or a page edge would sway it.
    band = int(FRAME_DEPTH * min(gray.shape)) if "border-frames" in config.steps else 0
    inner = (slice(band, gray.shape[0] - band), slice(band, gray.shape[1] - band))
    edges = "page-edges" in config.steps and min(gray.shape) >= PAGE_PHOTO_PX
    median = background
    if edges:
        # Before the pen is measured, a closing a third of the median's width: any pen is narrower.
        first_kernel = default_window(gray.shape) // 3
        dark = page_background(gray, median, "dark", first_kernel, small=small) if config.polarity != "bright" else None
        bright = (page_background(gray, median, "bright", first_kernel, small=small)
                  if config.polarity != "dark" else None)
        polarity = (detect_polarity(gray[inner], dark[inner], config.min_contrast, bright[inner], DARK_INK_PRIOR)
                    if config.polarity == "auto" else config.polarity)
        background = dark if polarity == "dark" else bright
    else:
        # Its background too: a median filter repeats the border (a canvas's frame line) inward,
        # and paper beside it would count as dark ink.
        vote_background = estimate_background(gray[inner]) if band else background
        polarity = (detect_polarity(gray[inner], vote_background, config.min_contrast)
                    if config.polarity == "auto" else config.polarity)
    # Rules of lined paper are thinner than pen strokes: measure the pen without them.
    contrast = ink_contrast(gray, background, polarity)
    faint = "noise-floor" in config.steps
    raw = _without_frame(ink_mask(contrast, config.min_contrast, faint), config)
    raw, rules, lined = _rules_of(raw, config)
    first = erase_rules(raw, rules)
    stroke = stroke_width(first)
    pen = stroke if "pen-rules" in config.steps else 0.0
    if rules is not None and "ink-over-rules" in config.steps:
        first = erase_rules(raw, rules, stroke=pen, contrast=contrast)
    elif pen >= THICK_PEN_PX and rules is not None:
        first = erase_rules(raw, rules, stroke=pen)
    # A second pass only where the pen is too fat for the first window (a digit filling the
    # frame would come out hollow); otherwise the first pass stands, which saves its cost.
    fat = ("pen-window" in config.steps and stroke > 0
           and background_window(stroke, gray.shape) > 1.25 * default_window(gray.shape))
    if fat:
        median = estimate_background(gray, background_window(stroke, gray.shape), small=small)
        background = median
    # With the pen measured, a closing as wide as the median's pen-sized window: the first
    # pass's wider one leaves a sliver of paper beyond a rounded shadow's corner.
    pen_kernel = background_window(stroke, gray.shape)
    tighter = edges and stroke > 0 and pen_kernel < TIGHTER_CLOSING * first_kernel
    if edges and (fat or tighter):
        background = page_background(gray, median, polarity, min(pen_kernel, first_kernel), small=small)
    if fat or tighter:
        second_contrast = ink_contrast(gray, background, polarity)
        over = second_contrast if "ink-over-rules" in config.steps else None
        second, second_rules, second_lined = _rules_of(
            _without_frame(ink_mask(second_contrast, config.min_contrast, faint), config), config)
        second = erase_rules(second, second_rules, pen, over)
        # A closing narrower than the pen eats the writing: the pen was measured too thin (a
        # noisy, blurred marker), and the first pass stands.
        if fat or cv2.countNonZero(second) >= KEPT_BY_TIGHTER * cv2.countNonZero(first):
            return second_contrast, second, polarity, stroke_width(second) or stroke, False, second_lined
    return contrast, first, polarity, stroke, False, lined


def union_box(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def join_candidates(boxes: list[Box], lines: list[int]) -> list[tuple[int, Box]]:
    """Neighbours in a line that may be pieces of one digit: close (a gap under a third of the
    taller's height) and together no wider than a digit is tall."""
    found = []
    for index in range(len(boxes) - 1):
        a, b = boxes[index], boxes[index + 1]
        if lines[index] != lines[index + 1]:
            continue
        gap = b[0] - (a[0] + a[2])
        union = union_box(a, b)
        if gap <= JOIN_GAP * max(a[3], b[3]) and union[2] <= JOIN_ASPECT * union[3]:
            found.append((index, union))
    return found


def cut_positions(columns: np.ndarray, height: int, stroke: float) -> list[int]:
    """Where a box of touching digits may be cut (columns relative to it, ascending): the local
    minima of its ink per column (where two digits meet, few strokes cross), then the even shares
    of every plausible digit count, all at least ``CUT_SPACING`` x the height from each other and
    from the box's sides (a '1' is that narrow)."""
    width = len(columns)
    spacing = max(2, int(CUT_SPACING * height))
    if width < 2 * spacing:
        return []
    smooth = np.convolve(columns.astype(np.float32), np.ones(max(3, int(stroke) | 1)), mode="same")
    inner = np.arange(spacing, width - spacing)
    previous, following = smooth[inner - 1], smooth[np.minimum(inner + 1, width - 1)]
    minima = inner[(smooth[inner] <= previous) & (smooth[inner] < following)]
    wanted = [int(c) for c in minima[np.argsort(smooth[minima], kind="stable")]]
    for parts in range(2, int(width / (CUT_SPACING * height * 2)) + 2):  # even shares, if no minimum is near
        if width < parts * SPLIT_PART_ASPECT * height:
            break
        wanted += [share * width // parts for share in range(1, parts)]
    cuts: list[int] = []
    for cut in wanted:
        if len(cuts) < MAX_CUTS and all(abs(cut - other) >= spacing for other in cuts):
            cuts.append(cut)
    return sorted(cuts)


def cut_paths(ink: np.ndarray, centres: Sequence[int], reach: int) -> list[np.ndarray]:
    """For each of ``centres``, (h,) int: for each row of a box's (h, w) bool ink, the column where
    a cut near that centre passes -- the top-to-bottom path, moving at most a column per row and
    staying within ``reach`` of the centre, that crosses the fewest ink pixels. Unlike a straight
    cut it slips between digits that lean into each other (a 7's bar over the next digit's
    shoulder). One dynamic programme over the rows serves all the cuts (per-row numpy calls were
    most of the finder's time on a page of digits); each cut sees a window of ``2 * reach + 1``
    columns around its centre, and columns outside the box cost infinity, so no path leaves it."""
    height, width = ink.shape
    if not len(centres):
        return []
    offsets = np.arange(2 * reach + 1)
    columns = np.asarray(centres, np.int64)[:, None] - reach + offsets  # (n, window)
    cost = ink[:, np.clip(columns, 0, width - 1)].astype(np.float64)  # (h, n, window)
    cost[:, (columns < 0) | (columns >= width)] = np.inf
    from_centre = PATH_STEP * np.abs(offsets - reach)
    total = cost[0] + from_centre
    came = np.zeros(cost.shape, np.int8)  # -1, 0, +1: the previous row's column, relative
    left, right = np.full_like(total, np.inf), np.full_like(total, np.inf)
    for row in range(1, height):
        left[:, 1:] = total[:, :-1] + PATH_STEP
        right[:, :-1] = total[:, 1:] + PATH_STEP
        # Ties go to the left-most option, as argmin over (left, stay, right) would.
        from_left = (left <= total) & (left <= right)
        came[row] = np.where(from_left, -1, np.where(total <= right, 0, 1))
        total = np.minimum(np.minimum(left, total), right) + cost[row]
    count = len(centres)
    column = np.argmin(total + from_centre, axis=1)
    paths = np.empty((count, height), np.int64)
    cuts = np.arange(count)
    for row in range(height - 1, -1, -1):
        paths[:, row] = column
        column = column + came[row, cuts, column]
    return list(paths + columns[:, :1])


def split_lattice(mask: np.ndarray, box: Box, stroke: float = 0.0,
                  narrow: bool = False) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Ways to cut a box wider than a digit into touching digits, for the classifier to choose
    from (see :class:`Lattice`): the cut paths (each (h,) columns relative to the box, left to
    right, none crossing the next) and the spans (first cut, last cut) worth classifying, where
    cut 0 is the box's left side and cut ``len(paths) + 1`` its right side. A span is at most
    ``SPAN_ASPECT`` x the height wide (no digit is wider) and is never the whole box. A box
    narrower than ``SPLIT_ASPECT`` x its height is cut only down columns with no ink (empty
    when it has none) -- unless ``narrow`` and it is at least ``NARROW_SPLIT_ASPECT`` x as wide
    as tall: a 1 touching its neighbour."""
    x, y, w, h = box
    ink = mask[y:y + h, x:x + w] > 0
    paths: list[np.ndarray] = []
    if w < SPLIT_ASPECT * h and not (narrow and w >= NARROW_SPLIT_ASPECT * h):
        # Too narrow for two touching digits -- but not for two apart that closing the gaps joined
        # (a 1 beside its neighbour, a pixel or two away): cut straight down the paper between
        # them. Two digits side by side are at least two 1s wide.
        if w >= 2 * ONE_WIDTH * h:
            spacing = max(2, int(CUT_SPACING * h))
            empty = ink[:, spacing:w - spacing].sum(axis=0) == 0
            paths = [np.full(h, spacing + (first + last) // 2, np.int64) for first, last in _runs_of(empty)]
    else:
        reach = max(2, int(PATH_REACH * h))
        for path in cut_paths(ink, cut_positions(ink.sum(axis=0), h, stroke), reach):
            if paths:
                path = np.maximum(path, paths[-1])  # cuts never cross
                if np.abs(path - paths[-1]).mean() < CUT_SPACING * h / 2:
                    continue  # the same cut found from two starting points
            paths.append(path)
    if not paths:
        return [], []
    sides = [np.zeros(h, np.int64), *paths, np.full(h, w, np.int64)]
    centres = [float(p.mean()) for p in sides]
    spans = [(first, last) for first in range(len(sides)) for last in range(first + 1, len(sides))
             if (first, last) != (0, len(sides) - 1) and last - first <= MAX_SPAN_CUTS
             and centres[last] - centres[first] <= SPAN_ASPECT * h]
    return paths, spans


def span_ink(ink: np.ndarray, paths: list[np.ndarray], span: tuple[int, int]) -> np.ndarray:
    """(h, w) bool: the pixels of a box between cut ``span[0]`` and cut ``span[1]`` (cut 0 = the box's
    left side, ``len(paths) + 1`` its right side)."""
    height, width = ink.shape
    sides = [np.zeros(height, np.int64), *paths, np.full(height, width, np.int64)]
    columns = np.arange(width)
    return (columns >= sides[span[0]][:, None]) & (columns < sides[span[1]][:, None])


def upsample_small(gray: np.ndarray, min_side: int = SMALL_IMAGE_PX) -> tuple[np.ndarray, float]:
    """``gray`` upsampled (bicubic) so its shorter side is ``min_side``, and the factor; images
    already that large come back as they are, factor 1. A thumbnail or a 16x16 or 28x28 crop
    holds a digit only a few pixels tall, below the finder's pixel thresholds (minimum height,
    stroke-width estimate, bridging); upsampled, it is found like any other digit. Measured on
    the dev set's crops shrunk to 0.35x: 50 % read before, 92 % after; unshrunk images read the
    same."""
    side = min(gray.shape, default=0)
    if side == 0 or side >= min_side:
        return gray, 1.0
    scale = min_side / side
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), scale


def shrink_large(gray: np.ndarray, max_side: int = LARGE_IMAGE_PX) -> tuple[np.ndarray, float]:
    """``gray`` shrunk (area averaging, as a camera bins) so its longer side is ``max_side``, and
    the factor; smaller images come back as they are, factor 1. A 12-megapixel phone photo holds
    its digits at many times the 20x20 the model reads, and every step costs per pixel: read
    whole, a close-up of one marker digit took 7 s on a workstation (about 0.1 s shrunk). Digits
    of a page photographed whole stay 20 px tall or more; the dev set read at half size loses
    1-2 % (docs/robustness.md)."""
    side = max(gray.shape, default=0)
    if side <= max_side:
        return gray, 1.0
    scale = max_side / side
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def find_digits(frame: np.ndarray, *, pixel_format: str = "auto", roi: Box | None = None,
                config: FindConfig = FindConfig()) -> Segmentation:
    """Find, order and normalise every digit in ``frame``. Never raises for odd image content
    (blank, noise, tiny, huge); raises :class:`InvalidFrameError` only for unreadable arrays."""
    if config.polarity not in POLARITIES:
        raise InvalidFrameError(f"unknown polarity {config.polarity!r}; one of {', '.join(POLARITIES)}")
    gray = to_gray(frame, pixel_format)
    gray, offset_x, offset_y = crop_roi(gray, roi)
    if min(gray.shape, default=0) < config.min_height_px:
        return Segmentation(np.zeros((0, INPUT_HEIGHT, INPUT_WIDTH), np.uint8), [], [], "dark", [])
    height, width = gray.shape
    gray, scale = upsample_small(gray)
    if scale == 1.0:
        gray, scale = shrink_large(gray)
    whole = gray.shape
    desk = "desk" in config.steps and min(whole) >= PAGE_PHOTO_PX
    small = quarter(gray, background_scale(whole)) if desk else None  # for the desk and the background both
    page = page_area(gray, small=small) if desk else None
    page_x, page_y = (page[0], page[1]) if page else (0, 0)
    ink_config = config
    if page:  # only the page is searched, and a page on a desk is written in dark ink
        gray, small = gray[page_y:page_y + page[3], page_x:page_x + page[2]], None
        if config.polarity == "auto":
            ink_config = replace(config, polarity="dark")
    contrast, mask, polarity, stroke, clean, lined = _ink_and_lines(gray, ink_config, small=small)
    unframed = mask
    boxes, mask = boxes_and_ink(unframed, config, stroke=stroke, clean=clean)
    lined = lined or mask is not unframed  # rules or a form's cells were taken out (see narrow_split below)
    level_lines = "level-lines" in config.steps
    skew = page_skew(boxes) if level_lines else 0.0
    drift = "drifting-lines" in config.steps
    boxes, lines = reading_order(boxes, skew, pieces=level_lines, drift=drift)
    short = small_for_line(boxes, lines, config.relative_height)
    if "small-by-classifier" not in config.steps:  # the geometric rule: small for its line is not a digit
        boxes, lines = reading_order([box for box, is_short in zip(boxes, short, strict=True) if not is_short], skew,
                                     pieces=level_lines, drift=drift)
        short = [False] * len(boxes)
    # Wider than any digit (touching digits, see candidate_boxes), or tiny beside the page's
    # digits even alone on its line (a cluster of paper grain, a dot): read only when sure.
    typical = float(np.median([h for _, _, _, h in boxes])) if boxes and "small-for-page" in config.steps else 0.0
    small = [is_short or w > config.max_aspect * h or h < PAGE_SMALL * typical
             for is_short, (_, _, w, h) in zip(short, boxes, strict=True)]
    pen = stroke if "stroke-norm" in config.steps else 0.0  # each crop's strokes made MNIST-wide
    if "specks" in config.steps:  # out of the mask that crops, joins and cuts are all cut from
        mask = boxes_without_specks(mask, boxes, stroke)

    def crops_of(some: list[Box]) -> np.ndarray:
        out = np.zeros((len(some), INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
        for index, (x, y, w, h) in enumerate(some):
            out[index] = normalize_digit(level_ink(digit_ink(contrast, mask, (x, y, w, h)), skew), pen)
        return out

    def shifted(box: Box) -> Box:  # to the caller's frame: undo the page crop and the resampling, add the ROI offset
        box = (box[0] + page_x, box[1] + page_y, box[2], box[3])
        if scale == 1.0:
            return box[0] + offset_x, box[1] + offset_y, box[2], box[3]
        x0, y0 = int(box[0] / scale), int(box[1] / scale)
        right, bottom = box[0] + box[2], box[1] + box[3]
        # A box that reaches the resampled image's far side reaches the frame's: the resize rounds
        # its size, so dividing by the scale can fall a pixel or more short of the side.
        x1 = width if right >= whole[1] else min(width, int(np.ceil(right / scale)))
        y1 = height if bottom >= whole[0] else min(height, int(np.ceil(bottom / scale)))
        return x0 + offset_x, y0 + offset_y, max(1, x1 - x0), max(1, y1 - y0)

    tallest = tallest_in_line(boxes, lines)

    def fragments(index: int, union: Box) -> bool:  # two small pieces that make a digit-tall one
        return (short[index] and short[index + 1]
                and union[3] >= config.relative_height * tallest[lines[index]])

    joins = ([Alternative(index, (shifted(union),), crops_of([union]), fragments(index, union))
              for index, union in join_candidates(boxes, lines)] if "joins" in config.steps else [])

    def lattice(index: int, box: Box, narrow: bool = False) -> Lattice | None:
        paths, spans = split_lattice(mask, box, stroke, narrow)
        x, y, w, h = box
        ink = mask[y:y + h, x:x + w] > 0
        kept, pieces, crops = [], [], []
        for span in spans:
            keep = span_ink(ink, paths, span) & ink
            rows, cols = np.nonzero(keep)
            if rows.size < min_piece:
                continue  # a sliver: never a digit
            x0, y0, x1, y1 = int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1
            if y1 - y0 < PIECE_HEIGHT * h:
                continue  # the end of a bar or a tail, far shorter than the digits it touches
            if narrow and x1 - x0 < NARROW_LINE_STROKES * stroke:
                continue  # a straight upright no wider than the pen: a cell wall's remnant, not a written 1
            local = np.where(keep, 255, 0).astype(np.uint8)
            piece_ink = digit_ink(contrast[y:y + h, x:x + w], local, (x0, y0, x1 - x0, y1 - y0))
            crops.append(normalize_digit(level_ink(piece_ink, skew), pen))
            kept.append(span)
            pieces.append(shifted((x + x0, y + y0, x1 - x0, y1 - y0)))
        if not kept:
            return None
        # The recogniser judges widths in the caller's pixels (the boxes are shifted), so the
        # height must be too: an upsampled small image would otherwise make every piece look narrow.
        rows = np.arange(h)
        free = tuple(not ink[rows, np.minimum(path, w - 1)].any() for path in paths)
        return Lattice(index, len(paths), tuple(kept), tuple(pieces), np.stack(crops), shifted(box)[3],
                       w > config.max_aspect * h, free)

    min_piece = max(6, int(stroke * stroke))
    splits = ([found for index, box in enumerate(boxes) if (found := lattice(index, box)) is not None]
              if "splits" in config.steps else [])

    def narrow_split(index: int) -> Lattice | None:
        _, _, w, h = boxes[index]
        return lattice(index, boxes[index], narrow=True) if NARROW_SPLIT_ASPECT * h <= w < SPLIT_ASPECT * h else None

    segmentation = Segmentation(crops_of(boxes), [shifted(box) for box in boxes], lines, polarity, small, joins, splits)
    # Not on a ruled page or a form: a rule's or a wall's remnant beside a doubted digit reads as a 1.
    wanted = "splits" in config.steps and "narrow-splits" in config.steps and not lined
    return replace(segmentation, narrow_split=narrow_split) if wanted else segmentation
