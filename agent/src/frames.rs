//! Camera frames for vision-model modules: the images robots publish on the bus
//! (`clea/<ns>/robot/<robot>/camera/<cam>/image` as raw [`CameraImage`], or
//! `.../image_compressed` as [`CompressedImage`]) turned into image files a chat model takes as a
//! base64 data URL, keeping only the newest frame of each camera.
//!
//! Raw `rgb8`, `bgr8` and `mono8` images become PNG (lossless; a model sees the pixels the camera
//! sent); compressed images are passed through when their bytes are a JPEG or PNG file. Depth
//! encodings are not images a VLM reads and are rejected.

use crate::modules::CameraFrame;
use clea_bus::msg::{CameraImage, CompressedImage};
use std::collections::BTreeMap;

/// Why a bus image cannot be sent to a model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// An encoding other than `rgb8`, `bgr8` or `mono8`.
    #[error("camera {camera}: encoding {encoding:?} is not a colour or grey image (expected rgb8, bgr8 or mono8)")]
    Encoding {
        /// `robot/camera`.
        camera: String,
        /// The encoding found.
        encoding: String,
    },
    /// Sizes, step and data length disagree.
    #[error("camera {camera}: {width}x{height} with step {step} needs {need} bytes, got {got}")]
    Size {
        /// `robot/camera`.
        camera: String,
        /// Columns.
        width: u32,
        /// Rows.
        height: u32,
        /// Bytes per row.
        step: u32,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Compressed bytes that are neither a JPEG nor a PNG file.
    #[error("camera {camera}: compressed image ({format:?}) is not a JPEG or PNG file")]
    NotAnImageFile {
        /// `robot/camera`.
        camera: String,
        /// The message's format string.
        format: String,
    },
    /// The PNG encoder failed.
    #[error("camera {camera}: PNG encoding failed: {reason}")]
    Png {
        /// `robot/camera`.
        camera: String,
        /// The encoder's message.
        reason: String,
    },
}

/// The image file type of `bytes` by its magic number.
fn media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// A compressed bus image as a frame (its bytes, when they are a JPEG or PNG file).
///
/// # Errors
/// [`FrameError::NotAnImageFile`] otherwise.
pub fn from_compressed(
    robot: &str,
    camera: &str,
    m: &CompressedImage,
) -> Result<CameraFrame, FrameError> {
    let media = media_type(&m.data).ok_or_else(|| FrameError::NotAnImageFile {
        camera: format!("{robot}/{camera}"),
        format: m.format.clone(),
    })?;
    Ok(CameraFrame {
        robot: robot.into(),
        camera: camera.into(),
        stamp: m.header.stamp,
        media_type: media.into(),
        bytes: m.data.clone(),
    })
}

/// A raw bus image (`rgb8`, `bgr8`, `mono8`; rows `step` bytes apart) as a PNG frame.
///
/// # Errors
/// [`FrameError::Encoding`] for another encoding, [`FrameError::Size`] when the sizes disagree,
/// [`FrameError::Png`] when encoding fails.
pub fn from_raw(robot: &str, camera: &str, m: &CameraImage) -> Result<CameraFrame, FrameError> {
    let name = || format!("{robot}/{camera}");
    let (channels, color, bgr) = match m.encoding.as_str() {
        "rgb8" => (3usize, png::ColorType::Rgb, false),
        "bgr8" => (3, png::ColorType::Rgb, true),
        "mono8" => (1, png::ColorType::Grayscale, false),
        other => {
            return Err(FrameError::Encoding {
                camera: name(),
                encoding: other.into(),
            })
        }
    };
    let (w, h, step) = (m.width as usize, m.height as usize, m.step as usize);
    let row = w * channels;
    let need = if h == 0 { 0 } else { step * (h - 1) + row };
    if w == 0 || h == 0 || step < row || m.data.len() < need {
        return Err(FrameError::Size {
            camera: name(),
            width: m.width,
            height: m.height,
            step: m.step,
            need,
            got: m.data.len(),
        });
    }
    let mut pixels = Vec::with_capacity(row * h);
    for r in 0..h {
        let line = &m.data[r * step..r * step + row];
        if bgr {
            for px in line.chunks_exact(3) {
                pixels.extend_from_slice(&[px[2], px[1], px[0]]);
            }
        } else {
            pixels.extend_from_slice(line);
        }
    }
    let png_err = |e: png::EncodingError| FrameError::Png {
        camera: name(),
        reason: e.to_string(),
    };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, m.width, m.height);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(&pixels).map_err(png_err)?;
    }
    Ok(CameraFrame {
        robot: robot.into(),
        camera: camera.into(),
        stamp: m.header.stamp,
        media_type: "image/png".into(),
        bytes,
    })
}

/// `(robot, camera)` of a camera key `clea/<ns>/robot/<robot>/camera/<cam>/<kind>`.
pub fn camera_of_key(key: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["clea", _, "robot", robot, "camera", cam, _] => Some((robot.to_string(), cam.to_string())),
        _ => None,
    }
}

/// A bus image as it arrived.
#[derive(Debug, Clone)]
pub enum BusImage {
    /// `.../image` (raw pixels).
    Raw(CameraImage),
    /// `.../image_compressed` (a JPEG or PNG file).
    Compressed(CompressedImage),
}

/// The newest image received from each camera, with when it arrived. Images are kept as they
/// came and encoded only when asked for ([`LatestFrames::frames`]); arrival order decides
/// (a camera clock that restarts does not freeze the frame), and images older than the
/// maximum age are not handed out (a camera that stopped must not stand for the present).
#[derive(Debug, Clone)]
pub struct LatestFrames {
    images: BTreeMap<(String, String), (std::time::Instant, BusImage)>,
    max_age: std::time::Duration,
}

impl Default for LatestFrames {
    fn default() -> Self {
        Self::new(MAX_FRAME_AGE)
    }
}

/// How old a camera image may be and still be shown to a model: 10 s.
pub const MAX_FRAME_AGE: std::time::Duration = std::time::Duration::from_secs(10);

impl LatestFrames {
    /// Keep images at most `max_age` old.
    pub fn new(max_age: std::time::Duration) -> Self {
        Self {
            images: BTreeMap::new(),
            max_age,
        }
    }

    /// Keep `image` from `robot`'s `camera`, received now.
    pub fn insert(&mut self, robot: &str, camera: &str, image: BusImage) {
        self.images.insert(
            (robot.to_string(), camera.to_string()),
            (std::time::Instant::now(), image),
        );
    }

    /// The images young enough, encoded for a model, by robot then camera; images that cannot
    /// be encoded are logged and left out.
    pub fn frames(&self) -> Vec<CameraFrame> {
        self.images
            .iter()
            .filter(|(_, (at, _))| at.elapsed() <= self.max_age)
            .filter_map(|((robot, cam), (_, img))| {
                let f = match img {
                    BusImage::Raw(m) => from_raw(robot, cam, m),
                    BusImage::Compressed(m) => from_compressed(robot, cam, m),
                };
                f.map_err(|e| tracing::warn!(error = %e, "camera frame skipped"))
                    .ok()
            })
            .collect()
    }

    /// Forget every image.
    pub fn clear(&mut self) {
        self.images.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clea_bus::msg::{Header, Time};

    fn raw(encoding: &str, w: u32, h: u32, step: u32, data: Vec<u8>) -> CameraImage {
        CameraImage {
            header: Header {
                stamp: Time { sec: 5, nanosec: 0 },
                frame_id: "cam".into(),
            },
            height: h,
            width: w,
            encoding: encoding.into(),
            is_bigendian: 0,
            step,
            data,
        }
    }

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn raw_images_become_pngs_with_the_same_pixels() {
        // 2x2 bgr8 with a padded row (step 8): the PNG holds RGB.
        let data = vec![1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0];
        let f = from_raw("r1", "head", &raw("bgr8", 2, 2, 8, data)).unwrap();
        assert_eq!(f.media_type, "image/png");
        let (info, px) = decode(&f.bytes);
        assert_eq!((info.width, info.height), (2, 2));
        assert_eq!(px, [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
        let g = from_raw("r1", "head", &raw("mono8", 3, 1, 3, vec![9, 8, 7])).unwrap();
        assert_eq!(decode(&g.bytes).1, [9, 8, 7]);
    }

    #[test]
    fn bad_images_are_errors() {
        let e = from_raw("r1", "head", &raw("16UC1", 1, 1, 2, vec![0, 0])).unwrap_err();
        assert!(e.to_string().contains("16UC1"), "{e}");
        let e = from_raw("r1", "head", &raw("rgb8", 2, 2, 6, vec![0; 11])).unwrap_err();
        assert!(
            matches!(
                e,
                FrameError::Size {
                    need: 12,
                    got: 11,
                    ..
                }
            ),
            "{e}"
        );
        let c = CompressedImage {
            header: Header::default(),
            format: "jpeg".into(),
            data: b"GIF89a".to_vec(),
        };
        assert!(from_compressed("r1", "head", &c).is_err());
        let jpeg = CompressedImage {
            data: vec![0xff, 0xd8, 0xff, 0xe0],
            ..c
        };
        assert_eq!(
            from_compressed("r1", "head", &jpeg).unwrap().media_type,
            "image/jpeg"
        );
    }

    #[test]
    fn keys_and_newest_frames() {
        assert_eq!(
            camera_of_key("clea/ns/robot/robot_1/camera/head/image"),
            Some(("robot_1".into(), "head".into()))
        );
        assert_eq!(camera_of_key("clea/ns/robot/robot_1/observation"), None);
        let mut l = LatestFrames::default();
        // The newest arrival wins, whatever its stamp (a camera clock may restart).
        l.insert("r", "c", BusImage::Raw(raw("mono8", 1, 1, 1, vec![2])));
        let mut older_stamp = raw("mono8", 1, 1, 1, vec![1]);
        older_stamp.header.stamp.sec = 1;
        l.insert("r", "c", BusImage::Raw(older_stamp));
        let f = l.frames();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].stamp.sec, 1);
        // Too old: not handed out.
        let mut stale = LatestFrames::new(std::time::Duration::ZERO);
        stale.insert("r", "c", BusImage::Raw(raw("mono8", 1, 1, 1, vec![1])));
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(stale.frames().is_empty());
        l.clear();
        assert!(l.frames().is_empty());
    }
}
