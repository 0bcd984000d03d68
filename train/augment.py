"""Training-time augmentation that makes MNIST look like the crops ``edge.preprocess`` cuts from
real handwriting; used by :func:`train.training.build_augmenter` inside the ``tf.data`` map.

Every function takes a float batch ``(N, 28, 28, 1)`` in [0, 1] (ink bright) and a
``tf.random.Generator`` and returns a batch of the same shape and dtype; each perturbs a random
subset of the images chosen with its own probability. All work is batched TensorFlow ops (no
per-image Python, no ``py_function``), so the map keeps up with training on two CPU cores.
TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from edge.constants import INPUT_HEIGHT, INPUT_WIDTH

# Where edge.preprocess.normalize_digit puts a digit: fitted into a 20x20 box, aspect kept, with
# its centre of mass at pixel (14, 14), as MNIST itself was made.
FIT_BOX = 20.0
FIT_CENTRE = 14.0
INK_THRESHOLD = 0.2  # a pixel at least this bright counts towards a digit's bounding box


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of every augmentation; one place to tune them.

    Probabilities are per image. Lengths are in pixels of the 28x28 input unless named a
    fraction. The ranges were chosen by looking at crops that ``edge.preprocess`` cut from real
    photos and drawings: tilt and slant of a few tens of degrees, pens from hairline to marker,
    gaps in faint or dotted strokes, soft focus, and digits the finder clipped or fitted with a
    neighbour's speck.
    """

    # A share of each batch gets only the mild camera geometry (rotation, zoom, shift) and none
    # of the rest, so the model still fits clean MNIST-like digits tightly and confidently:
    # with everything on, MNIST test accuracy sat at the 99.6 % floor, and with a fifth light
    # the finder's confidence thresholds rejected clean digits. Two fifths light (with 18 epochs
    # and no label smoothing) scored best on the real dev set and the synthetic scene kinds.
    light_probability: float = 0.4
    # Geometry, applied in a single bilinear resampling (each extra resampling blurs).
    rotation_degrees: float = 12.0  # uniform +-; camera tilt
    slant: float = 0.3  # shear x per row, uniform +-; 0.3 = 17 degrees of italic
    zoom: float = 0.12  # uniform +-12 % scale: the finder's fit is not exact
    aspect: float = 0.08  # uniform +-8 % extra width vs height: narrow and wide hands
    shift_pixels: float = 2.5  # uniform +-; centring error
    elastic_probability: float = 0.5
    elastic_pixels: float = 1.3  # s.d. of the displacement at each node of the coarse grid
    elastic_grid: int = 4  # nodes per side; 4 bends a stroke once or twice, like a hand does
    # Styles MNIST (written by Americans) rarely has: the European 7 and 1, the printed 4.
    crossbar_probability: float = 0.3  # of the 7s: a bar across the stem
    one_flag_probability: float = 0.35  # of the 1s: a flag from the top, down to the left
    one_base_probability: float = 0.25  # of the 1s: a foot bar
    one_flag_length: tuple[float, float] = (0.2, 0.65)  # fraction of the 1's height (European 1s reach 0.7)
    four_closed_probability: float = 0.25  # of the 4s: a diagonal closing the top (print style)
    # Pen width, as a morphological dilation (thicker) or erosion (thinner) of a random size.
    thick_probability: float = 0.2  # 2x2, 3x3 or 4x4 dilation: felt pen to marker
    thin_probability: float = 0.15  # 2x2 or 3x3 erosion: fine pen, hairline
    thin_keep_fraction: float = 0.3  # an erosion that leaves less ink than this falls back to 2x2
    # Broken strokes: a few small discs of ink erased where there is ink (dotted, faint, skipped).
    break_probability: float = 0.2
    break_max_gaps: int = 3
    break_radius: tuple[float, float] = (0.8, 1.8)
    # Finder artefacts.
    cut_probability: float = 0.08  # a side of the digit cut off (it touched the frame or ROI)
    cut_fraction: tuple[float, float] = (0.08, 0.22)  # of the ink box on that side
    speck_probability: float = 0.08  # a short stroke of a neighbour near the border
    refit_probability: float = 0.6  # re-fit into the 20x20 box at centre of mass, as the finder
    # Imaging.
    faint_probability: float = 0.15  # ink scaled down to faint_range (pencil, weak contrast)
    faint_range: tuple[float, float] = (0.35, 0.85)
    saturate_probability: float = 0.2  # ink scaled up and clipped: the finder's flat-topped strokes
    saturate_range: tuple[float, float] = (1.3, 2.5)
    blur_probability: float = 0.2  # soft focus or a JPEG's lost detail, Gaussian sigma 1 blended in
    noise_probability: float = 0.15  # sensor or compression noise
    noise_sd: float = 0.06


def _tf():
    import tensorflow as tf

    return tf


def _chosen(rng, images, probability: float):
    """(N, 1, 1, 1) bool: which images of the batch get a perturbation."""
    tf = _tf()
    return rng.uniform([tf.shape(images)[0], 1, 1, 1]) < probability


def _grid(images):
    """Pixel row and column coordinates, each (1, H, W) float32."""
    tf = _tf()
    ys, xs = tf.meshgrid(tf.range(INPUT_HEIGHT, dtype=tf.float32),
                         tf.range(INPUT_WIDTH, dtype=tf.float32), indexing="ij")
    return ys[tf.newaxis], xs[tf.newaxis]


def warp(images, src_y, src_x):
    """Resample: output pixel (n, y, x) takes the bilinear value of ``images`` at
    (``src_y[n, y, x]``, ``src_x[n, y, x]``); outside the image is background (0)."""
    tf = _tf()
    height, width = INPUT_HEIGHT + 2, INPUT_WIDTH + 2
    # A 1-pixel zero border, and coordinates clipped into it, make every outside read a 0.
    padded = tf.reshape(tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]]), [-1])
    y = tf.clip_by_value(src_y + 1.0, 0.0, height - 1.0)
    x = tf.clip_by_value(src_x + 1.0, 0.0, width - 1.0)
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = y - y0, x - x0
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1, x1 = tf.minimum(y0 + 1, height - 1), tf.minimum(x0 + 1, width - 1)
    base = tf.range(tf.shape(images)[0])[:, tf.newaxis, tf.newaxis] * (height * width)

    def at(yy, xx):
        return tf.gather(padded, base + yy * width + xx)

    top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx
    return (top * (1.0 - wy) + bottom * wy)[..., tf.newaxis]


def geometry(images, rng, config: AugmentConfig = AugmentConfig()):
    """Rotation, slant, zoom, aspect, shift and (for some images) elastic distortion, in one
    resampling about the centre of the field."""
    tf = _tf()
    n = tf.shape(images)[0]

    def uniform(bound):
        return rng.uniform([n, 1, 1], -bound, bound)

    angle = uniform(math.radians(config.rotation_degrees))
    shear = uniform(config.slant)
    scale = 1.0 + uniform(config.zoom)
    aspect = 1.0 + uniform(config.aspect)
    ys, xs = _grid(images)
    centre_y, centre_x = (INPUT_HEIGHT - 1) / 2.0, (INPUT_WIDTH - 1) / 2.0
    u = ys - centre_y - uniform(config.shift_pixels)
    v = xs - centre_x - uniform(config.shift_pixels)
    # Inverse map (output -> source): undo the shift, rotation, slant, then the scale.
    cos, sin = tf.cos(angle), tf.sin(angle)
    ru, rv = cos * u - sin * v, sin * u + cos * v
    rv = rv + shear * ru
    src_y = ru / scale + centre_y
    src_x = rv / (scale * aspect) + centre_x

    grid = config.elastic_grid
    nodes = rng.normal([n, grid, grid, 2]) * config.elastic_pixels
    field = tf.image.resize(nodes, (INPUT_HEIGHT, INPUT_WIDTH), method="bicubic")
    on = tf.cast(_chosen(rng, images, config.elastic_probability), tf.float32)
    field = field * on
    return warp(images, src_y + field[..., 0], src_x + field[..., 1])


def ink_box(images):
    """Per image: (top, bottom, left, right) of the pixels above :data:`INK_THRESHOLD`, each
    (N,) float32, and whether there is any such pixel (N,) bool."""
    tf = _tf()
    ink = images[..., 0] >= INK_THRESHOLD
    rows, cols = tf.reduce_any(ink, axis=2), tf.reduce_any(ink, axis=1)

    def span(mask, size):
        first = tf.argmax(tf.cast(mask, tf.int32), axis=1)
        last = size - 1 - tf.argmax(tf.cast(mask[:, ::-1], tf.int32), axis=1)
        return tf.cast(first, tf.float32), tf.cast(last, tf.float32)

    top, bottom = span(rows, INPUT_HEIGHT)
    left, right = span(cols, INPUT_WIDTH)
    return (top, bottom, left, right), tf.reduce_any(rows, axis=1)


def refit(images, rng=None, config: AugmentConfig = AugmentConfig(), probability: float | None = None):
    """Re-fit digits as ``edge.preprocess.normalize_digit`` does: ink box scaled to 20 px on its
    longer side, centre of mass moved to (14, 14). Blank images stay blank."""
    tf = _tf()
    (top, bottom, left, right), has_ink = ink_box(images)
    side = tf.maximum(bottom - top, right - left) + 1.0
    scale = tf.where(has_ink, FIT_BOX / side, 1.0)[:, tf.newaxis, tf.newaxis]
    plane = images[..., 0]
    mass = tf.reduce_sum(plane, axis=[1, 2])
    safe = tf.maximum(mass, 1e-6)
    ys, xs = _grid(images)
    com_y = tf.where(mass > 0, tf.reduce_sum(plane * ys, axis=[1, 2]) / safe, FIT_CENTRE)
    com_x = tf.where(mass > 0, tf.reduce_sum(plane * xs, axis=[1, 2]) / safe, FIT_CENTRE)
    src_y = (ys - FIT_CENTRE) / scale + com_y[:, tf.newaxis, tf.newaxis]
    src_x = (xs - FIT_CENTRE) / scale + com_x[:, tf.newaxis, tf.newaxis]
    fitted = warp(images, src_y, src_x)
    p = config.refit_probability if probability is None else probability
    if rng is None or p >= 1.0:
        return fitted
    return tf.where(_chosen(rng, images, p), fitted, images)


def draw_segments(images, y0, x0, y1, x1, width, on):
    """Draw one anti-aliased line segment per image (endpoints and ``width`` (N,) float32) where
    ``on`` (N,) bool, taking the brighter of ink and stroke."""
    tf = _tf()
    ys, xs = _grid(images)

    def col(t):
        return t[:, tf.newaxis, tf.newaxis]

    dy, dx = col(y1 - y0), col(x1 - x0)
    length2 = tf.maximum(dy * dy + dx * dx, 1e-6)
    t = tf.clip_by_value(((ys - col(y0)) * dy + (xs - col(x0)) * dx) / length2, 0.0, 1.0)
    distance = tf.sqrt((ys - col(y0) - t * dy) ** 2 + (xs - col(x0) - t * dx) ** 2)
    stroke = tf.clip_by_value(col(width) / 2.0 + 0.5 - distance, 0.0, 1.0)
    stroke = stroke * col(tf.cast(on, tf.float32))
    return tf.maximum(images, stroke[..., tf.newaxis])


def _row_centre(images, row, half_band: float = 1.0):
    """Per image, the ink-weighted column of the rows within ``half_band`` of ``row`` (N,);
    the image's centre of mass column where that band is empty."""
    tf = _tf()
    ys, xs = _grid(images)
    band = tf.cast(tf.abs(ys - row[:, tf.newaxis, tf.newaxis]) <= half_band, tf.float32)
    weights = images[..., 0] * band
    mass = tf.reduce_sum(weights, axis=[1, 2])
    plane = images[..., 0]
    overall = tf.reduce_sum(plane * xs, axis=[1, 2]) / tf.maximum(tf.reduce_sum(plane, axis=[1, 2]), 1e-6)
    return tf.where(mass > 1e-3, tf.reduce_sum(weights * xs, axis=[1, 2]) / tf.maximum(mass, 1e-6), overall)


def _labelled(rng, images, labels, digit: int, probability: float):
    tf = _tf()
    n = tf.shape(images)[0]
    return tf.logical_and(tf.equal(labels, digit), rng.uniform([n]) < probability)


def add_seven_crossbar(images, labels, rng, config: AugmentConfig = AugmentConfig()):
    """Some 7s get the continental crossbar: a short, slightly tilted bar across the stem a
    little below the middle of the digit. ``labels`` (N,) int."""
    tf = _tf()
    n = tf.shape(images)[0]
    (top, bottom, left, right), has_ink = ink_box(images)
    on = tf.logical_and(_labelled(rng, images, labels, 7, config.crossbar_probability), has_ink)
    row = top + (bottom - top) * rng.uniform([n], 0.45, 0.62)
    centre = _row_centre(images, row)
    half = (right - left + 1.0) * rng.uniform([n], 0.18, 0.3)
    tilt = rng.uniform([n], -1.0, 1.0)
    width = rng.uniform([n], 1.6, 2.6)
    return draw_segments(images, row + tilt, centre - half, row - tilt, centre + half, width, on)


def add_one_serifs(images, labels, rng, config: AugmentConfig = AugmentConfig()):
    """Some 1s get a flag (from the top of the stem down to the left) and/or a foot bar."""
    tf = _tf()
    n = tf.shape(images)[0]
    (top, bottom, _, _), has_ink = ink_box(images)
    height = bottom - top + 1.0
    width = rng.uniform([n], 1.6, 2.6)
    flag = tf.logical_and(_labelled(rng, images, labels, 1, config.one_flag_probability), has_ink)
    top_x = _row_centre(images, top + 1.0)
    # Steeper than a 7's top bar (which is near horizontal), or the 1 would become a 7.
    length = height * rng.uniform([n], *config.one_flag_length)
    angle = rng.uniform([n], math.radians(30), math.radians(60))
    images = draw_segments(images, top + 0.5, top_x, top + 0.5 + length * tf.sin(angle),
                           top_x - length * tf.cos(angle), width, flag)
    base = tf.logical_and(_labelled(rng, images, labels, 1, config.one_base_probability), has_ink)
    foot_x = _row_centre(images, bottom - 1.0)
    half = height * rng.uniform([n], 0.15, 0.3)
    return draw_segments(images, bottom - 0.5, foot_x - half, bottom - 0.5, foot_x + half, width, base)


def add_four_diagonal(images, labels, rng, config: AugmentConfig = AugmentConfig()):
    """Some 4s get the closed, printed top: a diagonal from the top of the stem (the right-hand
    stroke) down to the left end of the crossbar (the widest row in the lower part of the digit).
    MNIST's 4s are nearly all open, so without this a closed 4 reads as a 9."""
    tf = _tf()
    n = tf.shape(images)[0]
    (top, bottom, left, right), has_ink = ink_box(images)
    on = tf.logical_and(_labelled(rng, images, labels, 4, config.four_closed_probability), has_ink)
    ys, xs = _grid(images)
    ink = images[..., 0] >= INK_THRESHOLD  # (N, H, W)
    height = bottom - top + 1.0

    def col(t):
        return t[:, tf.newaxis, tf.newaxis]

    # Crossbar: the row, between 40 % and 85 % of the height, whose ink spans the most columns.
    first = tf.cast(tf.argmax(tf.cast(ink, tf.int32), axis=2), tf.float32)  # (N, H)
    last = INPUT_WIDTH - 1.0 - tf.cast(tf.argmax(tf.cast(ink[:, :, ::-1], tf.int32), axis=2), tf.float32)
    rows = ys[:, :, 0]
    band = tf.logical_and(rows >= top[:, tf.newaxis] + 0.4 * height[:, tf.newaxis],
                          rows <= top[:, tf.newaxis] + 0.85 * height[:, tf.newaxis])
    span = tf.where(tf.logical_and(band, tf.reduce_any(ink, axis=2)), last - first, -1.0)
    bar_row = tf.argmax(span, axis=1, output_type=tf.int32)
    bar_y = tf.cast(bar_row, tf.float32)
    bar_x = tf.gather(first, bar_row, batch_dims=1)
    # Stem top: the highest ink right of the box's middle, and its ink-weighted column.
    right_half = tf.logical_and(ink, xs >= col((left + right) / 2.0))
    has_right = tf.reduce_any(right_half, axis=[1, 2])
    stem_y = tf.cast(tf.argmax(tf.cast(tf.reduce_any(right_half, axis=2), tf.int32), axis=1), tf.float32)
    in_row = tf.cast(right_half, tf.float32) * tf.cast(tf.equal(ys, col(stem_y)), tf.float32)
    stem_x = tf.reduce_sum(in_row * xs, axis=[1, 2]) / tf.maximum(tf.reduce_sum(in_row, axis=[1, 2]), 1.0)
    width = rng.uniform([n], 1.6, 2.6)
    return draw_segments(images, stem_y, stem_x, bar_y, bar_x, width, tf.logical_and(on, has_right))


def _dilate(images, size: int):
    tf = _tf()
    return tf.nn.max_pool2d(images, size, 1, "SAME")


def _erode(images, size: int):
    tf = _tf()
    return -tf.nn.max_pool2d(-images, size, 1, "SAME")


def stroke_width(images, rng, config: AugmentConfig = AugmentConfig()):
    """Thicker (dilation 2x2, 3x3 or 4x4) or thinner (erosion 2x2 or 3x3) pens. An erosion that
    would wipe out most of a thin digit falls back to the 2x2 one, then to the original."""
    tf = _tf()
    n = tf.shape(images)[0]
    size = rng.uniform([n, 1, 1, 1])
    # Felt pens are common, fat markers rarer: 2x2 half the time, 3x3 35 %, 4x4 15 %.
    thick = tf.where(size < 0.5, _dilate(images, 2),
                     tf.where(size < 0.85, _dilate(images, 3), _dilate(images, 4)))
    mass = tf.reduce_sum(images, axis=[1, 2, 3], keepdims=True)
    thin2, thin3 = _erode(images, 2), _erode(images, 3)

    def kept(thinned):
        return tf.reduce_sum(thinned, axis=[1, 2, 3], keepdims=True) >= config.thin_keep_fraction * mass

    thin = tf.where(tf.logical_and(size < 0.5, kept(thin3)), thin3,
                    tf.where(kept(thin2), thin2, images))
    choice = rng.uniform([n, 1, 1, 1])
    return tf.where(choice < config.thick_probability, thick,
                    tf.where(choice > 1.0 - config.thin_probability, thin, images))


def break_strokes(images, rng, config: AugmentConfig = AugmentConfig()):
    """Erase 1 to ``break_max_gaps`` small discs centred on ink, as in dotted, skipping or faint
    strokes that the finder's threshold breaks up."""
    tf = _tf()
    n = tf.shape(images)[0]
    ys, xs = _grid(images)
    flat = tf.reshape(images, [n, INPUT_HEIGHT * INPUT_WIDTH])
    keep = tf.ones_like(images[..., 0])
    gaps = tf.cast(rng.uniform([n], 1.0, config.break_max_gaps + 1.0), tf.int32)
    for gap in range(config.break_max_gaps):
        # Gumbel-max: a pixel drawn with probability proportional to its ink.
        gumbel = -tf.math.log(-tf.math.log(rng.uniform(tf.shape(flat), 1e-6, 1.0 - 1e-6)))
        index = tf.argmax(tf.math.log(flat + 1e-6) + gumbel, axis=1, output_type=tf.int32)
        cy = tf.cast(index // INPUT_WIDTH, tf.float32)[:, tf.newaxis, tf.newaxis]
        cx = tf.cast(index % INPUT_WIDTH, tf.float32)[:, tf.newaxis, tf.newaxis]
        radius = rng.uniform([n, 1, 1], *config.break_radius)
        distance = tf.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
        hole = tf.clip_by_value(distance - radius + 0.5, 0.0, 1.0)  # 0 inside, soft rim
        active = (gap < gaps)[:, tf.newaxis, tf.newaxis]
        keep = keep * tf.where(active, hole, 1.0)
    return tf.where(_chosen(rng, images, config.break_probability), images * keep[..., tf.newaxis], images)


def cut_border(images, rng, config: AugmentConfig = AugmentConfig()):
    """Cut off a strip of one side of the ink box (top, bottom, left or right), as when a digit
    runs off the frame or the region of interest."""
    tf = _tf()
    n = tf.shape(images)[0]
    (top, bottom, left, right), _ = ink_box(images)
    ys, xs = _grid(images)
    fraction = rng.uniform([n], *config.cut_fraction)
    side = tf.cast(rng.uniform([n], 0.0, 4.0), tf.int32)

    def col(t):
        return t[:, tf.newaxis, tf.newaxis]

    height, width = bottom - top + 1.0, right - left + 1.0
    keep = tf.where(col(side == 0), ys >= col(top + fraction * height),
           tf.where(col(side == 1), ys <= col(bottom - fraction * height),
           tf.where(col(side == 2), xs >= col(left + fraction * width),
                    xs <= col(right - fraction * width))))
    cut = images * tf.cast(keep, tf.float32)[..., tf.newaxis]
    return tf.where(_chosen(rng, images, config.cut_probability), cut, images)


def add_speck(images, rng, config: AugmentConfig = AugmentConfig()):
    """A short stroke near one border: the end of a neighbouring digit that fell in the box."""
    tf = _tf()
    n = tf.shape(images)[0]
    along = rng.uniform([n], 3.0, INPUT_WIDTH - 4.0)
    across = rng.uniform([n], 1.0, 4.0)
    vertical_edge = rng.uniform([n]) < 0.5
    far = rng.uniform([n]) < 0.5
    across = tf.where(far, INPUT_WIDTH - 1.0 - across, across)
    y0 = tf.where(vertical_edge, along, across)
    x0 = tf.where(vertical_edge, across, along)
    angle = rng.uniform([n], 0.0, 2.0 * math.pi)
    length = rng.uniform([n], 2.0, 5.0)
    on = rng.uniform([n]) < config.speck_probability
    return draw_segments(images, y0, x0, y0 + length * tf.sin(angle), x0 + length * tf.cos(angle),
                         rng.uniform([n], 1.2, 2.4), on)


def photometric(images, rng, config: AugmentConfig = AugmentConfig()):
    """Faint or saturated ink, blur (focus, JPEG) and additive noise; the result stays in [0, 1]."""
    tf = _tf()
    n = tf.shape(images)[0]
    gain = tf.where(_chosen(rng, images, config.faint_probability),
                    rng.uniform([n, 1, 1, 1], *config.faint_range), 1.0)
    gain = tf.where(_chosen(rng, images, config.saturate_probability),
                    rng.uniform([n, 1, 1, 1], *config.saturate_range), gain)
    images = tf.clip_by_value(images * gain, 0.0, 1.0)
    taps = tf.exp(-tf.range(-2.0, 3.0) ** 2 / 2.0)  # Gaussian, sigma 1 px
    taps = taps / tf.reduce_sum(taps)
    kernel = (taps[:, tf.newaxis] * taps[tf.newaxis, :])[:, :, tf.newaxis, tf.newaxis]
    blurred = tf.nn.conv2d(images, kernel, 1, "SAME")
    amount = rng.uniform([n, 1, 1, 1], 0.3, 1.0)
    images = tf.where(_chosen(rng, images, config.blur_probability),
                      images + (blurred - images) * amount, images)
    noise = rng.normal(tf.shape(images)) * rng.uniform([n, 1, 1, 1], 0.0, config.noise_sd)
    images = tf.where(_chosen(rng, images, config.noise_probability), images + noise, images)
    return tf.clip_by_value(images, 0.0, 1.0)


def augment_batch(images, labels, rng, config: AugmentConfig = AugmentConfig()):
    """The whole chain on a batch (N, 28, 28, 1) float32 with integer labels (N,); a
    ``light_probability`` share of the images gets the mild geometry only.

    Styles are drawn first so the geometry bends them with the digit; pen, gaps, cuts and
    specks come before the re-fit so their effect on the digit's box is fitted away as the
    finder would; imaging comes last because it happens to the crop the model sees.
    """
    tf = _tf()
    labels = tf.cast(labels, tf.int32)
    light = geometry(images, rng, replace(config, slant=0.0, aspect=0.0, elastic_probability=0.0))
    light_chosen = _chosen(rng, images, config.light_probability)
    images = add_seven_crossbar(images, labels, rng, config)
    images = add_one_serifs(images, labels, rng, config)
    images = add_four_diagonal(images, labels, rng, config)
    images = geometry(images, rng, config)
    images = stroke_width(images, rng, config)
    images = break_strokes(images, rng, config)
    images = cut_border(images, rng, config)
    images = add_speck(images, rng, config)
    images = refit(images, rng, config)
    return tf.where(light_chosen, light, photometric(images, rng, config))
