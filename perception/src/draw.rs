//! Annotated debug images: boxes, labels with score (and depth when known), masks blended in the
//! class colour, keypoints.

use crate::error::{Error, Result};
use crate::image::Image;
use crate::mask::Mask;
use clea_bus::msg::Detection;
use opencv::core::{Mat, Point, Rect, Scalar, Vec3b, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use std::path::Path;

/// A distinct BGR colour per class (Ultralytics' palette).
fn colour(class_id: u32) -> (u8, u8, u8) {
    const PALETTE: [(u8, u8, u8); 10] = [
        (56, 56, 255),
        (151, 157, 255),
        (31, 112, 255),
        (29, 178, 255),
        (49, 210, 207),
        (10, 249, 72),
        (23, 204, 146),
        (134, 219, 61),
        (211, 188, 0),
        (255, 56, 132),
    ];
    PALETTE[class_id as usize % PALETTE.len()]
}

fn cv(e: opencv::Error) -> Error {
    Error::image("<annotated>", e.message)
}

/// A BGR copy of `image` with `detections` drawn on it.
///
/// # Errors
/// [`Error::Image`] when OpenCV fails.
pub fn annotate(image: &Image, detections: &[Detection]) -> Result<Mat> {
    let mut out = image.to_bgr()?;
    let (w, h) = (out.cols(), out.rows());
    let thickness = ((w.max(h) as f64 / 400.0).round() as i32).max(1);
    for d in detections {
        let (b, g, r) = colour(d.class_id);
        if let Some(rle) = &d.mask {
            if let Ok(m) = Mask::from_rle(rle) {
                blend_mask(&mut out, &m, (b, g, r))?;
            }
        }
        let x1 = d.bbox.x_min.round() as i32;
        let y1 = d.bbox.y_min.round() as i32;
        let x2 = d.bbox.x_max.round() as i32;
        let y2 = d.bbox.y_max.round() as i32;
        let c = Scalar::new(b as f64, g as f64, r as f64, 0.0);
        imgproc::rectangle(
            &mut out,
            Rect::new(x1, y1, (x2 - x1).max(1), (y2 - y1).max(1)),
            c,
            thickness,
            imgproc::LINE_8,
            0,
        )
        .map_err(cv)?;
        for k in &d.keypoints {
            imgproc::circle(
                &mut out,
                Point::new(k[0].round() as i32, k[1].round() as i32),
                thickness + 1,
                c,
                -1,
                imgproc::LINE_8,
                0,
            )
            .map_err(cv)?;
        }
        let mut text = format!("{} {:.2}", d.label, d.score);
        if let Some(p) = &d.position_camera {
            text.push_str(&format!(" {:.2}m", p.z));
        }
        let scale = 0.4 * thickness as f64;
        let mut base = 0;
        let size =
            imgproc::get_text_size(&text, imgproc::FONT_HERSHEY_SIMPLEX, scale, 1, &mut base)
                .map_err(cv)?;
        let ty = if y1 - size.height - 4 >= 0 {
            y1 - 4
        } else {
            y1 + size.height + 4
        };
        imgproc::rectangle(
            &mut out,
            Rect::new(x1, ty - size.height - 2, size.width + 4, size.height + 6),
            c,
            -1,
            imgproc::LINE_8,
            0,
        )
        .map_err(cv)?;
        imgproc::put_text(
            &mut out,
            &text,
            Point::new(x1 + 2, ty),
            imgproc::FONT_HERSHEY_SIMPLEX,
            scale,
            Scalar::new(255.0, 255.0, 255.0, 0.0),
            1,
            imgproc::LINE_AA,
            false,
        )
        .map_err(cv)?;
    }
    Ok(out)
}

fn blend_mask(out: &mut Mat, m: &Mask, (b, g, r): (u8, u8, u8)) -> Result<()> {
    for y in 0..m.height {
        for x in 0..m.width {
            if m.data[(y * m.width + x) as usize] == 0 {
                continue;
            }
            let (px, py) = ((m.x + x) as i32, (m.y + y) as i32);
            if px >= out.cols() || py >= out.rows() {
                continue;
            }
            let p = out.at_2d_mut::<Vec3b>(py, px).map_err(cv)?;
            p[0] = ((p[0] as u16 + b as u16) / 2) as u8;
            p[1] = ((p[1] as u16 + g as u16) / 2) as u8;
            p[2] = ((p[2] as u16 + r as u16) / 2) as u8;
        }
    }
    Ok(())
}

/// Encode `mat` as PNG (or JPEG, by the file extension) and write it to `path`.
///
/// # Errors
/// [`Error::Image`] when encoding fails, [`Error::Io`] when the file cannot be written.
pub fn write_image(path: &Path, mat: &Mat) -> Result<()> {
    let ext = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "jpg" || e == "jpeg" => ".jpg",
        _ => ".png",
    };
    let mut buf = Vector::<u8>::new();
    opencv::imgcodecs::imencode(ext, mat, &mut buf, &Vector::new())
        .map_err(|e| Error::image(path.display().to_string(), e.message))?;
    std::fs::write(path, buf.as_slice()).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
