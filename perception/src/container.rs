//! Checks of an encoded image (the file's container) before any pixel is decoded: the size its
//! header declares against a limit, and whether a JPEG or PNG file is complete.
//!
//! Why before: OpenCV decodes a 1 MB PNG that declares 32768 × 32768 pixels into 3 GB, fills
//! the missing half of a cut JPEG with grey and says nothing, and lets libpng print its own
//! errors on stderr. The header is read with the `imagesize` crate; the JPEG and PNG structure
//! checks follow ITU-T T.81 (markers) and the PNG specification (ISO/IEC 15948, chunks and CRC).

use crate::error::{Error, Result};

/// Limits on an encoded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Most pixels (width × height) an image may declare; default 100 megapixels (a 12 K × 8 K
    /// frame fits).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_pixels: 100_000_000,
        }
    }
}

/// Width and height (pixels) the header of an encoded image declares, without decoding it;
/// `None` when the format is not recognised or the header is cut.
pub fn declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let s = imagesize::blob_size(bytes).ok()?;
    Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?))
}

/// Check an encoded image before decoding it: a declared size within `limits`, and for JPEG and
/// PNG a complete file (a JPEG's end-of-image marker after its scan data; a PNG's chunks whole,
/// their CRCs right, up to `IEND`). Other formats are left to the decoder.
///
/// # Errors
/// [`Error::Image`] naming `source` and the reason: too many pixels (with the declared size and
/// the limit), a truncated JPEG or PNG, a PNG chunk with a bad CRC.
pub fn check_encoded(bytes: &[u8], source: &str, limits: &ImageLimits) -> Result<()> {
    // The structure first: a PNG whose first chunk is not IHDR has no size to trust.
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        check_jpeg(bytes).map_err(|why| Error::image(source, why))?;
    } else if bytes.starts_with(PNG_SIGNATURE) {
        check_png(bytes).map_err(|why| Error::image(source, why))?;
    }
    if let Some((w, h)) = declared_size(bytes) {
        let pixels = u64::from(w) * u64::from(h);
        if pixels > limits.max_pixels {
            return Err(Error::image(
                source,
                format!(
                    "declares {w} × {h} pixels ({}), more than the limit of {}",
                    megapixels(pixels),
                    megapixels(limits.max_pixels)
                ),
            ));
        }
    }
    Ok(())
}

/// `12.6 megapixels`, or `1000 pixels` below one megapixel.
fn megapixels(n: u64) -> String {
    if n < 1_000_000 {
        format!("{n} pixels")
    } else {
        format!("{:.1} megapixels", n as f64 / 1e6)
    }
}

/// A JPEG is complete when an end-of-image marker (`FF D9`) follows its last start-of-scan
/// (`FF DA`). Inside scan data a literal `FF` is stuffed as `FF 00`, so `FF D9` there is the
/// marker itself.
fn check_jpeg(bytes: &[u8]) -> std::result::Result<(), String> {
    let find_last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (find_last(0xDA), find_last(0xD9)) {
        (None, _) => Err("truncated JPEG: no image data (no start-of-scan marker)".into()),
        (Some(sos), Some(eoi)) if eoi > sos => Ok(()),
        (Some(_), _) => Err(format!(
            "truncated JPEG: the image data ends without an end-of-image marker ({} bytes; the file was cut short)",
            bytes.len()
        )),
    }
}

const PNG_SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Walk a PNG's chunks (length, type, data, CRC over type and data) up to `IEND`.
fn check_png(bytes: &[u8]) -> std::result::Result<(), String> {
    let mut at = PNG_SIGNATURE.len();
    loop {
        let Some(head) = bytes.get(at..at + 8) else {
            return Err(format!(
                "truncated PNG: the file ends at byte {} before its IEND chunk",
                bytes.len()
            ));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = String::from_utf8_lossy(&head[4..8]).into_owned();
        let end = at + 8 + len + 4;
        let Some(chunk) = bytes.get(at + 4..end) else {
            return Err(format!(
                "truncated PNG: chunk {kind:?} at byte {at} needs {} bytes, the file ends at byte {}",
                len + 12,
                bytes.len()
            ));
        };
        let (body, crc) = chunk.split_at(4 + len);
        let saved = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != saved {
            return Err(format!(
                "damaged PNG: chunk {kind:?} at byte {at} has a wrong CRC"
            ));
        }
        if at == PNG_SIGNATURE.len() && kind != "IHDR" {
            return Err(format!(
                "damaged PNG: the first chunk is {kind:?}, not \"IHDR\""
            ));
        }
        if kind == "IEND" {
            return Ok(());
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32fast::hash(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }

    /// A PNG header declaring `w` × `h` (no pixel data needed to read the size).
    fn png(w: u32, h: u32, end: bool) -> Vec<u8> {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut f = PNG_SIGNATURE.to_vec();
        f.extend(png_chunk(b"IHDR", &ihdr));
        f.extend(png_chunk(b"IDAT", &[0; 16]));
        if end {
            f.extend(png_chunk(b"IEND", &[]));
        }
        f
    }

    #[test]
    fn a_huge_declared_size_is_refused_from_the_header() {
        let e = check_encoded(&png(32768, 32768, true), "big.png", &ImageLimits::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("32768 × 32768"), "{e}");
        assert!(e.contains("big.png"), "{e}");
        let small = ImageLimits { max_pixels: 100 };
        assert!(check_encoded(&png(10, 10, true), "ok.png", &small).is_ok());
        assert!(check_encoded(&png(11, 10, true), "no.png", &small).is_err());
    }

    #[test]
    fn a_png_without_iend_or_with_a_bad_crc_is_refused() {
        let limits = ImageLimits::default();
        let cut = png(4, 4, false);
        let e = check_encoded(&cut, "cut.png", &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated PNG"), "{e}");
        let mut bad = png(4, 4, true);
        let n = bad.len();
        bad[n - 20] ^= 0x40; // inside IDAT
        let e = check_encoded(&bad, "bad.png", &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong CRC") && e.contains("IDAT"), "{e}");
    }

    #[test]
    fn a_jpeg_needs_its_end_marker_after_the_scan() {
        let limits = ImageLimits::default();
        let whole = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 2, 0xFF, 0xDA, 1, 2, 0xFF, 0x00, 3, 0xFF, 0xD9,
        ];
        assert!(check_encoded(&whole, "a.jpg", &limits).is_ok());
        let e = check_encoded(&whole[..12], "a.jpg", &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated JPEG"), "{e}");
    }
}
