//! YOLO seg masks: `sigmoid(coefficients · prototypes) > 0.5`, i.e. the linear combination of
//! the 32 prototype maps `[32, H/4, W/4]` is positive, bilinearly upsampled (PyTorch
//! `align_corners=False` convention), cropped to the box.
//!
//! Instead of upsampling whole prototype maps to the input and then to the source image (as the
//! Python pipeline does), each source pixel inside the box is mapped through the letterbox to
//! prototype coordinates and sampled there: only the box's prototype cells are combined, and the
//! mask comes out at source resolution in one pass.

use super::ShapeError;
use crate::image::Letterbox;
use crate::mask::Mask;

/// Mask prototypes: `channels` maps of `height` x `width`, row-major (`[1, C, H, W]`).
#[derive(Debug, Clone, Copy)]
pub struct Protos<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Number of prototypes (32 for Ultralytics).
    pub channels: usize,
    /// Rows (input height / 4).
    pub height: usize,
    /// Columns (input width / 4).
    pub width: usize,
}

impl<'a> Protos<'a> {
    /// Prototypes from an output of shape `[1, C, H, W]`.
    ///
    /// # Errors
    /// [`ShapeError`] for another rank, batch or a data length that does not match.
    pub fn new(data: &'a [f32], shape: &[usize]) -> Result<Self, ShapeError> {
        match shape {
            [1, c, h, w] if *c > 0 && *h > 0 && *w > 0 && data.len() == c * h * w => Ok(Self {
                data,
                channels: *c,
                height: *h,
                width: *w,
            }),
            _ => Err(ShapeError::new(
                "output 1 (mask prototypes)",
                "[1, 32, H/4, W/4]",
                shape,
            )),
        }
    }
}

/// One axis of the sampling grid: for each source pixel, the two prototype indices and the
/// weight of the second.
fn axis(
    first_px: u32,
    count: u32,
    scale: f64,
    pad: f64,
    proto_per_input: f64,
    len: usize,
) -> Vec<(usize, usize, f32)> {
    (first_px..first_px + count)
        .map(|p| {
            let input = (p as f64 + 0.5) * scale + pad;
            let s = (input * proto_per_input - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            let w = if i0 == len - 1 {
                0.0
            } else {
                (s - i0 as f64) as f32
            };
            (i0, i1, w)
        })
        .collect()
}

/// The mask of one detection: `coeffs` (one per prototype), its box in source pixels
/// `[x1, y1, x2, y2]`, the letterbox the model saw. Pixels whose centres lie inside the box and
/// where the combined prototype (bilinearly sampled) is above `logit_threshold` (0 for
/// sigmoid > 0.5) are on.
pub fn mask(
    coeffs: &[f32],
    protos: &Protos<'_>,
    bbox: [f64; 4],
    lb: &Letterbox,
    logit_threshold: f32,
) -> Mask {
    // Pixels with centres in [x1, x2) x [y1, y2).
    let c0 = ((bbox[0] - 0.5).ceil().max(0.0) as u32).min(lb.src_w);
    let c1 = ((bbox[2] - 0.5).ceil().max(0.0) as u32)
        .min(lb.src_w)
        .max(c0);
    let r0 = ((bbox[1] - 0.5).ceil().max(0.0) as u32).min(lb.src_h);
    let r1 = ((bbox[3] - 0.5).ceil().max(0.0) as u32)
        .min(lb.src_h)
        .max(r0);
    let mut m = Mask::new(c0, r0, c1 - c0, r1 - r0);
    if m.width == 0 || m.height == 0 {
        return m;
    }
    let xs = axis(
        c0,
        c1 - c0,
        lb.scale_x(),
        lb.pad_x as f64,
        protos.width as f64 / lb.dst_w as f64,
        protos.width,
    );
    let ys = axis(
        r0,
        r1 - r0,
        lb.scale_y(),
        lb.pad_y as f64,
        protos.height as f64 / lb.dst_h as f64,
        protos.height,
    );
    // Prototype cells the box touches.
    let (gx0, gx1) = (xs[0].0, xs[xs.len() - 1].1);
    let (gy0, gy1) = (ys[0].0, ys[ys.len() - 1].1);
    let (gw, gh) = (gx1 - gx0 + 1, gy1 - gy0 + 1);
    let mut logits = vec![0.0f32; gw * gh];
    let plane = protos.width * protos.height;
    for (k, &a) in coeffs.iter().enumerate().take(protos.channels) {
        if a == 0.0 {
            continue;
        }
        let p = &protos.data[k * plane..(k + 1) * plane];
        for gy in 0..gh {
            let src = &p[(gy0 + gy) * protos.width + gx0..(gy0 + gy) * protos.width + gx0 + gw];
            let dst = &mut logits[gy * gw..(gy + 1) * gw];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += a * s;
            }
        }
    }
    let at = |y: usize, x: usize| logits[(y - gy0) * gw + (x - gx0)];
    let width = m.width as usize;
    for (r, &(y0, y1, wy)) in ys.iter().enumerate() {
        let row = &mut m.data[r * width..(r + 1) * width];
        for (out, &(x0, x1, wx)) in row.iter_mut().zip(&xs) {
            let top = at(y0, x0) * (1.0 - wx) + at(y0, x1) * wx;
            let bottom = at(y1, x0) * (1.0 - wx) + at(y1, x1) * wx;
            *out = u8::from(top * (1.0 - wy) + bottom * wy > logit_threshold);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_plane_prototype_gives_half_the_box() {
        // One prototype over an 8x8 input (2x2 grid at stride 4): +1 left column, -1 right.
        let data = [1.0, -1.0, 1.0, -1.0];
        let protos = Protos::new(&data, &[1, 1, 2, 2]).unwrap();
        let lb = Letterbox::new(8, 8, 8, 8);
        let m = mask(&[1.0], &protos, [0.0, 0.0, 8.0, 8.0], &lb, 0.0);
        assert_eq!((m.x, m.y, m.width, m.height), (0, 0, 8, 8));
        for y in 0..8 {
            for x in 0..8 {
                assert_eq!(m.get(x, y), x < 4, "pixel {x},{y}");
            }
        }
        let m = mask(&[1.0], &protos, [2.0, 1.0, 6.0, 3.0], &lb, 0.0);
        assert_eq!((m.x, m.y, m.width, m.height, m.area()), (2, 1, 4, 2, 4));
    }
}
