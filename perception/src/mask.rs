//! Binary instance masks over a pixel rectangle of the source image, and their run-length
//! encoding on the bus ([`clea_bus::msg::MaskRle`]).

use crate::error::{Error, Result};
use clea_bus::msg::MaskRle;

/// A binary mask over the pixel rectangle `x..x+width`, `y..y+height` of the source image
/// (usually the detection's box); `data` is row-major, one byte per pixel, 1 = on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Left pixel column of the rectangle.
    pub x: u32,
    /// Top pixel row of the rectangle.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width * height` bytes, 0 or 1.
    pub data: Vec<u8>,
}

impl Mask {
    /// An all-off mask over the rectangle.
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// Whether image pixel (`px`, `py`) is on (false outside the rectangle).
    pub fn get(&self, px: u32, py: u32) -> bool {
        if px < self.x || py < self.y || px >= self.x + self.width || py >= self.y + self.height {
            return false;
        }
        let i = (py - self.y) as usize * self.width as usize + (px - self.x) as usize;
        self.data[i] != 0
    }

    /// Number of on pixels (the area in px²).
    pub fn area(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// Mean of the on pixels' centres, in image pixels; `None` for an empty mask.
    pub fn centroid(&self) -> Option<(f64, f64)> {
        let (mut sx, mut sy, mut n) = (0.0f64, 0.0f64, 0usize);
        for r in 0..self.height as usize {
            let row = &self.data[r * self.width as usize..(r + 1) * self.width as usize];
            for (c, &v) in row.iter().enumerate() {
                if v != 0 {
                    sx += c as f64;
                    sy += r as f64;
                    n += 1;
                }
            }
        }
        (n > 0).then(|| {
            (
                self.x as f64 + sx / n as f64 + 0.5,
                self.y as f64 + sy / n as f64 + 0.5,
            )
        })
    }

    /// Run-length encoding: row-major runs over the rectangle, alternating off/on, starting off.
    pub fn to_rle(&self) -> MaskRle {
        let mut counts = Vec::new();
        let mut current = 0u8;
        let mut run = 0u32;
        for &v in &self.data {
            let v = u8::from(v != 0);
            if v != current {
                counts.push(run);
                run = 0;
                current = v;
            }
            run += 1;
        }
        counts.push(run);
        MaskRle {
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
            counts,
        }
    }

    /// The mask an RLE describes.
    ///
    /// # Errors
    /// [`Error::Config`] (field `mask.counts`) when the runs do not add up to `width * height`.
    pub fn from_rle(rle: &MaskRle) -> Result<Self> {
        let n = rle.width as usize * rle.height as usize;
        let total: u64 = rle.counts.iter().map(|&c| u64::from(c)).sum();
        if total != n as u64 {
            return Err(Error::config(
                "mask.counts",
                format!("runs add up to {total}, the rectangle has {n} pixels"),
            ));
        }
        let mut data = Vec::with_capacity(n);
        for (i, &c) in rle.counts.iter().enumerate() {
            data.extend(std::iter::repeat_n((i % 2) as u8, c as usize));
        }
        Ok(Self {
            x: rle.x,
            y: rle.y,
            width: rle.width,
            height: rle.height,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_round_trips_and_starts_with_off() {
        let mut m = Mask::new(10, 20, 4, 3);
        m.data = vec![1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1];
        let rle = m.to_rle();
        assert_eq!(rle.counts, vec![0, 2, 3, 3, 3, 1]);
        assert_eq!(Mask::from_rle(&rle).unwrap(), m);
        assert!(m.get(10, 20) && !m.get(12, 20) && m.get(13, 22) && !m.get(14, 22));
        assert_eq!(m.area(), 6);
    }

    #[test]
    fn bad_rle_is_an_error() {
        let rle = MaskRle {
            x: 0,
            y: 0,
            width: 2,
            height: 2,
            counts: vec![1, 1],
        };
        assert!(Mask::from_rle(&rle).is_err());
    }
}
