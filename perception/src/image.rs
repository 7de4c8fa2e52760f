//! Images: decoding (JPEG/PNG files and bytes, ROS `sensor_msgs/Image` encodings), depth images,
//! the letterbox transform and NCHW `f32` model input.
//!
//! Colour images stay 8-bit OpenCV matrices in the channel order they came in ([`ChannelOrder`]):
//! the swap to the model's RGB happens while writing the NCHW tensor, so no extra pass over the
//! pixels is spent on `cvtColor`. Depth images are plain `f32` metres with `NaN` for invalid
//! pixels.

use crate::container::{check_encoded, ImageLimits};
use crate::error::{Error, Result};
use clea_bus::msg::CameraImage;
use opencv::core::{Mat, Size, Vec3b, CV_16UC1, CV_32FC1, CV_8UC1, CV_8UC3};
use opencv::prelude::*;
use std::path::Path;

/// Channel order of a colour image's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// Blue, green, red (OpenCV's decoders, ROS `bgr8`).
    Bgr,
    /// Red, green, blue (ROS `rgb8`).
    Rgb,
    /// One grey channel (ROS `mono8`).
    Gray,
}

/// An 8-bit image: `CV_8UC3` (BGR or RGB) or `CV_8UC1` (grey), continuous rows.
#[derive(Debug)]
pub struct Image {
    mat: Mat,
    order: ChannelOrder,
    source: String,
}

fn cv(source: &str) -> impl Fn(opencv::Error) -> Error + '_ {
    move |e| Error::image(source, one_line(&e.message))
}

/// OpenCV's messages span lines (an assertion's expression, blank lines): one line for users.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Image {
    /// Wrap an OpenCV matrix (`CV_8UC3` in `order`, or `CV_8UC1`).
    ///
    /// # Errors
    /// [`Error::Image`] for another type, or an empty matrix.
    pub fn from_mat(mat: Mat, order: ChannelOrder, source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let ok = match order {
            ChannelOrder::Gray => mat.typ() == CV_8UC1,
            _ => mat.typ() == CV_8UC3,
        };
        if !ok || mat.empty() {
            return Err(Error::image(
                source,
                format!(
                    "expected a non-empty 8-bit {} matrix, got type {} ({}x{})",
                    if order == ChannelOrder::Gray {
                        "1-channel"
                    } else {
                        "3-channel"
                    },
                    mat.typ(),
                    mat.cols(),
                    mat.rows()
                ),
            ));
        }
        let mat = if mat.is_continuous() {
            mat
        } else {
            mat.try_clone().map_err(cv(&source))?
        };
        Ok(Self { mat, order, source })
    }

    /// Read and decode a JPEG or PNG file (as BGR).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Image`] when it does not decode.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_file_with(path, &ImageLimits::default())
    }

    /// [`Image::from_file`] with `limits` on what the file may declare.
    ///
    /// # Errors
    /// As [`Image::decode_with`], and [`Error::Io`] when the file cannot be read.
    pub fn from_file_with(path: &Path, limits: &ImageLimits) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::decode_with(&bytes, path.display().to_string(), limits)
    }

    /// Decode JPEG or PNG bytes (as BGR; grey and alpha images become 3-channel BGR), within the
    /// default [`ImageLimits`].
    ///
    /// # Errors
    /// As [`Image::decode_with`].
    pub fn decode(bytes: &[u8], source: impl Into<String>) -> Result<Self> {
        Self::decode_with(bytes, source, &ImageLimits::default())
    }

    /// Decode JPEG or PNG bytes after checking the container ([`check_encoded`]): the declared
    /// size within `limits` (read from the header, before any pixel is decoded) and, for JPEG
    /// and PNG, a complete file.
    ///
    /// # Errors
    /// [`Error::Image`] (one line, naming `source`) when the image declares more pixels than
    /// `limits` allow, is truncated or damaged, or does not decode.
    pub fn decode_with(
        bytes: &[u8],
        source: impl Into<String>,
        limits: &ImageLimits,
    ) -> Result<Self> {
        let source = source.into();
        if bytes.is_empty() {
            return Err(Error::image(source, "empty file"));
        }
        check_encoded(bytes, &source, limits)?;
        let buf = Mat::from_slice(bytes).map_err(cv(&source))?;
        let mat =
            opencv::imgcodecs::imdecode(&buf, opencv::imgcodecs::IMREAD_COLOR).map_err(|e| {
                Error::image(&source, format!("cannot decode: {}", one_line(&e.message)))
            })?;
        if mat.empty() {
            return Err(Error::image(
                source,
                "not a decodable JPEG/PNG image (corrupt or unsupported)",
            ));
        }
        Self::from_mat(mat, ChannelOrder::Bgr, source)
    }

    /// Copy a ROS image message with encoding `rgb8`, `bgr8` or `mono8`.
    ///
    /// # Errors
    /// [`Error::Encoding`] for another encoding (depth encodings included: see
    /// [`DepthImage::from_ros`]); [`Error::Image`] when `step`, `width`, `height` and the data
    /// length disagree.
    pub fn from_ros(msg: &CameraImage, source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let (order, channels) = match msg.encoding.as_str() {
            "rgb8" => (ChannelOrder::Rgb, 3),
            "bgr8" => (ChannelOrder::Bgr, 3),
            "mono8" | "8UC1" => (ChannelOrder::Gray, 1),
            "8UC3" => (ChannelOrder::Bgr, 3),
            other => {
                return Err(Error::Encoding {
                    source_name: source,
                    encoding: other.to_string(),
                })
            }
        };
        let rows = ros_rows(msg, channels, &source)?;
        let (w, h) = (msg.width as usize, msg.height as usize);
        let mut packed = Vec::with_capacity(w * h * channels);
        for r in rows {
            packed.extend_from_slice(r);
        }
        let mat = if channels == 3 {
            Mat::new_rows_cols_with_bytes::<Vec3b>(h as i32, w as i32, &packed)
                .and_then(|m| m.try_clone())
        } else {
            Mat::new_rows_cols_with_bytes::<u8>(h as i32, w as i32, &packed)
                .and_then(|m| m.try_clone())
        }
        .map_err(cv(&source))?;
        Self::from_mat(mat, order, source)
    }

    /// An image from packed RGB bytes (`width * height * 3`).
    ///
    /// # Errors
    /// [`Error::Image`] when the length does not match.
    pub fn from_rgb8(width: u32, height: u32, data: &[u8]) -> Result<Self> {
        if data.len() != width as usize * height as usize * 3 || width == 0 || height == 0 {
            return Err(Error::image(
                "<rgb8>",
                format!("{} bytes for {width}x{height} rgb8", data.len()),
            ));
        }
        let mat = Mat::new_rows_cols_with_bytes::<Vec3b>(height as i32, width as i32, data)
            .and_then(|m| m.try_clone())
            .map_err(cv("<rgb8>"))?;
        Self::from_mat(mat, ChannelOrder::Rgb, "<rgb8>")
    }

    /// Width, px.
    pub fn width(&self) -> u32 {
        self.mat.cols() as u32
    }

    /// Height, px.
    pub fn height(&self) -> u32 {
        self.mat.rows() as u32
    }

    /// Channel order of the bytes.
    pub fn order(&self) -> ChannelOrder {
        self.order
    }

    /// Where the image came from (file or bus key), for error messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The OpenCV matrix.
    pub fn mat(&self) -> &Mat {
        &self.mat
    }

    /// A BGR copy (for drawing and writing files).
    ///
    /// # Errors
    /// [`Error::Image`] when OpenCV fails.
    pub fn to_bgr(&self) -> Result<Mat> {
        let code = match self.order {
            ChannelOrder::Bgr => return self.mat.try_clone().map_err(cv(&self.source)),
            ChannelOrder::Rgb => opencv::imgproc::COLOR_RGB2BGR,
            ChannelOrder::Gray => opencv::imgproc::COLOR_GRAY2BGR,
        };
        let mut out = Mat::default();
        opencv::imgproc::cvt_color(&self.mat, &mut out, code, 0).map_err(cv(&self.source))?;
        Ok(out)
    }
}

/// The rows of a ROS image, each `width * bytes_per_pixel` long, after checking `step` and the
/// data length.
fn ros_rows<'a>(
    msg: &'a CameraImage,
    bytes_per_pixel: usize,
    source: &str,
) -> Result<impl Iterator<Item = &'a [u8]>> {
    let (w, h, step) = (msg.width as usize, msg.height as usize, msg.step as usize);
    if w == 0 || h == 0 {
        return Err(Error::image(source, format!("empty image {w}x{h}")));
    }
    let row_bytes = w * bytes_per_pixel;
    if step < row_bytes {
        return Err(Error::image(
            source,
            format!(
                "step {step} is shorter than a row of {w} {} pixels ({row_bytes} bytes)",
                msg.encoding
            ),
        ));
    }
    let needed = step
        .checked_mul(h - 1)
        .and_then(|n| n.checked_add(row_bytes));
    if needed.is_none_or(|n| msg.data.len() < n) {
        return Err(Error::image(
            source,
            format!(
                "{} bytes of data for {h} rows of step {step}",
                msg.data.len()
            ),
        ));
    }
    Ok((0..h).map(move |r| &msg.data[r * step..r * step + row_bytes]))
}

/// Converts one depth pixel's bytes (big-endian when the flag is set) to metres.
type DepthConv = fn(&[u8], bool) -> f32;

/// A depth image aligned to a colour image: metres, `NaN` where the sensor gave no depth.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthImage {
    /// Columns, px.
    pub width: u32,
    /// Rows, px.
    pub height: u32,
    /// Row-major depth, m; `NaN` = invalid.
    pub data: Vec<f32>,
}

impl DepthImage {
    /// A depth image from metres (`width * height` values; 0, negative and non-finite values
    /// become `NaN`).
    ///
    /// # Errors
    /// [`Error::Image`] when the length does not match.
    pub fn from_metres(width: u32, height: u32, mut data: Vec<f32>) -> Result<Self> {
        if data.len() != width as usize * height as usize || width == 0 || height == 0 {
            return Err(Error::image(
                "<depth>",
                format!("{} values for a {width}x{height} depth image", data.len()),
            ));
        }
        for v in &mut data {
            if !(v.is_finite() && *v > 0.0) {
                *v = f32::NAN;
            }
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Convert a ROS depth image: `16UC1` (mm, 0 = invalid) or `32FC1` (m, 0/NaN = invalid).
    ///
    /// # Errors
    /// [`Error::Encoding`] for another encoding, [`Error::Image`] when sizes disagree.
    pub fn from_ros(msg: &CameraImage, source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let big = msg.is_bigendian != 0;
        let (bpp, conv): (usize, DepthConv) = match msg.encoding.as_str() {
            "16UC1" | "mono16" => (2, |b, big| {
                let v = if big {
                    u16::from_be_bytes([b[0], b[1]])
                } else {
                    u16::from_le_bytes([b[0], b[1]])
                };
                f32::from(v) * 1e-3
            }),
            "32FC1" => (4, |b, big| {
                let a = [b[0], b[1], b[2], b[3]];
                if big {
                    f32::from_be_bytes(a)
                } else {
                    f32::from_le_bytes(a)
                }
            }),
            other => {
                return Err(Error::Encoding {
                    source_name: source,
                    encoding: other.to_string(),
                })
            }
        };
        let mut data = Vec::with_capacity(msg.width as usize * msg.height as usize);
        for row in ros_rows(msg, bpp, &source)? {
            data.extend(row.chunks_exact(bpp).map(|b| conv(b, big)));
        }
        Self::from_metres(msg.width, msg.height, data)
    }

    /// Read a depth file: a 16-bit single-channel PNG in millimetres (the ROS/RealSense
    /// convention), or a 32-bit float image (TIFF/EXR) in metres.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Image`] when it does not decode or is
    /// not 16-bit/32-bit single-channel.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_file_with(path, &ImageLimits::default(), None)
    }

    /// [`DepthImage::from_file`] within `limits`; with `expect` (width, height), a file whose
    /// header declares another size is refused before it is decoded.
    ///
    /// # Errors
    /// As [`DepthImage::from_file`], and [`Error::Image`] when the declared size is over
    /// `limits` or is not `expect`, or the file is truncated.
    pub fn from_file_with(
        path: &Path,
        limits: &ImageLimits,
        expect: Option<(u32, u32)>,
    ) -> Result<Self> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        check_encoded(&bytes, &source, limits)?;
        if let (Some((w, h)), Some((ew, eh))) = (crate::container::declared_size(&bytes), expect) {
            if (w, h) != (ew, eh) {
                return Err(Error::image(
                    &source,
                    format!("depth image is {w} × {h} pixels, the colour image {ew} × {eh}: they must be aligned pixel for pixel"),
                ));
            }
        }
        let buf = Mat::from_slice(&bytes).map_err(cv(&source))?;
        let mat = opencv::imgcodecs::imdecode(&buf, opencv::imgcodecs::IMREAD_UNCHANGED).map_err(
            |e| Error::image(&source, format!("cannot decode: {}", one_line(&e.message))),
        )?;
        if mat.empty() {
            return Err(Error::image(
                source,
                "not a decodable depth image (corrupt or unsupported)",
            ));
        }
        let (w, h) = (mat.cols() as u32, mat.rows() as u32);
        let mat = if mat.is_continuous() {
            mat
        } else {
            mat.try_clone().map_err(cv(&source))?
        };
        let data: Vec<f32> = match mat.typ() {
            t if t == CV_16UC1 => mat
                .data_typed::<u16>()
                .map_err(cv(&source))?
                .iter()
                .map(|&v| f32::from(v) * 1e-3)
                .collect(),
            t if t == CV_32FC1 => mat.data_typed::<f32>().map_err(cv(&source))?.to_vec(),
            t => {
                return Err(Error::image(
                    source,
                    format!(
                        "expected a 16-bit (mm) or 32-bit float (m) single-channel depth image, \
                         got OpenCV type {t} with {} channel(s)",
                        mat.channels()
                    ),
                ))
            }
        };
        Self::from_metres(w, h, data)
    }

    /// Depth at pixel (`x`, `y`), m; `None` when invalid or outside.
    pub fn get(&self, x: u32, y: u32) -> Option<f32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let v = self.data[y as usize * self.width as usize + x as usize];
        v.is_finite().then_some(v)
    }

    /// Encode as a 16-bit PNG in millimetres (invalid = 0), e.g. for fixtures.
    ///
    /// # Errors
    /// [`Error::Image`] when OpenCV fails.
    pub fn to_png_mm(&self) -> Result<Vec<u8>> {
        let mm: Vec<u16> = self
            .data
            .iter()
            .map(|&v| {
                if v.is_finite() {
                    (v * 1000.0).round().clamp(0.0, 65535.0) as u16
                } else {
                    0
                }
            })
            .collect();
        let mat = Mat::new_rows_cols_with_data(self.height as i32, self.width as i32, &mm)
            .map_err(cv("<depth>"))?;
        let mut out = opencv::core::Vector::<u8>::new();
        opencv::imgcodecs::imencode(".png", &mat, &mut out, &opencv::core::Vector::new())
            .map_err(cv("<depth>"))?;
        Ok(out.to_vec())
    }
}

/// The letterbox transform: the source image scaled by one factor to fit the model input, centred,
/// the rest padded (Ultralytics `LetterBox` with `auto=False`, `scaleup=True`).
///
/// Coordinates are continuous pixels with edges on integers: `input = source * scale + pad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Source width, px.
    pub src_w: u32,
    /// Source height, px.
    pub src_h: u32,
    /// Model input width, px.
    pub dst_w: u32,
    /// Model input height, px.
    pub dst_h: u32,
    /// Width of the resized image inside the input, px.
    pub new_w: u32,
    /// Height of the resized image inside the input, px.
    pub new_h: u32,
    /// Left padding, px.
    pub pad_x: u32,
    /// Top padding, px.
    pub pad_y: u32,
}

impl Letterbox {
    /// The letterbox of a `src_w` x `src_h` image into a `dst_w` x `dst_h` input.
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Self {
        let r = (dst_w as f64 / src_w as f64).min(dst_h as f64 / src_h as f64);
        let new_w = ((src_w as f64 * r).round() as u32).clamp(1, dst_w);
        let new_h = ((src_h as f64 * r).round() as u32).clamp(1, dst_h);
        Self {
            src_w,
            src_h,
            dst_w,
            dst_h,
            new_w,
            new_h,
            pad_x: (dst_w - new_w) / 2,
            pad_y: (dst_h - new_h) / 2,
        }
    }

    /// Horizontal scale source → input.
    pub fn scale_x(&self) -> f64 {
        self.new_w as f64 / self.src_w as f64
    }

    /// Vertical scale source → input.
    pub fn scale_y(&self) -> f64 {
        self.new_h as f64 / self.src_h as f64
    }

    /// Input coordinates of a source point.
    pub fn to_input(&self, x: f64, y: f64) -> (f64, f64) {
        (
            x * self.scale_x() + self.pad_x as f64,
            y * self.scale_y() + self.pad_y as f64,
        )
    }

    /// Source coordinates of an input point.
    pub fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.pad_x as f64) / self.scale_x(),
            (y - self.pad_y as f64) / self.scale_y(),
        )
    }

    /// A box `[x1, y1, x2, y2]` in input pixels mapped to source pixels and clipped to the image.
    pub fn box_to_source(&self, b: [f32; 4]) -> [f64; 4] {
        let (x1, y1) = self.to_source(b[0] as f64, b[1] as f64);
        let (x2, y2) = self.to_source(b[2] as f64, b[3] as f64);
        let (w, h) = (self.src_w as f64, self.src_h as f64);
        [
            x1.clamp(0.0, w),
            y1.clamp(0.0, h),
            x2.clamp(0.0, w),
            y2.clamp(0.0, h),
        ]
    }
}

/// How pixels become model input values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Channel order of the tensor (`true`: RGB, `false`: BGR).
    pub rgb: bool,
    /// Multiplier applied to the 0–255 byte first (YOLO: 1/255, CenterFace: 1).
    pub scale: f32,
    /// Subtracted per tensor channel after scaling.
    pub mean: [f32; 3],
    /// Divides per tensor channel after subtracting the mean.
    pub std: [f32; 3],
    /// Byte value of the letterbox padding (Ultralytics: 114).
    pub pad: u8,
}

impl Normalization {
    /// Ultralytics YOLO: RGB, `/255`, pad 114.
    pub const YOLO: Self = Self {
        rgb: true,
        scale: 1.0 / 255.0,
        mean: [0.0; 3],
        std: [1.0; 3],
        pad: 114,
    };
    /// CenterFace: RGB, raw 0–255, pad 0.
    pub const CENTERFACE: Self = Self {
        rgb: true,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
        pad: 0,
    };
}

/// Letterbox + normalisation into a reusable NCHW buffer `[1, 3, H, W]` (`f32`, planes in the
/// [`Normalization`]'s channel order).
///
/// The buffer and the resize scratch are kept between frames; padding is rewritten only when the
/// letterbox geometry changes.
#[derive(Debug)]
pub struct Preprocessor {
    width: u32,
    height: u32,
    norm: Normalization,
    lut: [[f32; 256]; 3],
    tensor: Vec<f32>,
    resized: Mat,
    last: Option<Letterbox>,
}

impl Preprocessor {
    /// A preprocessor for a `width` x `height` model input.
    pub fn new(width: u32, height: u32, norm: Normalization) -> Self {
        let mut lut = [[0.0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            for (v, out) in table.iter_mut().enumerate() {
                *out = (v as f32 * norm.scale - norm.mean[c]) / norm.std[c];
            }
        }
        Self {
            width,
            height,
            norm,
            lut,
            tensor: vec![0.0; 3 * width as usize * height as usize],
            resized: Mat::default(),
            last: None,
        }
    }

    /// Model input size `(width, height)`, px.
    pub fn input_size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The tensor of the last [`Preprocessor::run`], `[1, 3, H, W]` row-major.
    pub fn tensor(&self) -> &[f32] {
        &self.tensor
    }

    /// Letterbox `image` into the tensor; returns the transform.
    ///
    /// # Errors
    /// [`Error::Image`] when OpenCV fails to resize.
    pub fn run(&mut self, image: &Image) -> Result<Letterbox> {
        let lb = Letterbox::new(image.width(), image.height(), self.width, self.height);
        if self.last.as_ref() != Some(&lb) {
            self.fill_padding();
            self.last = Some(lb);
        }
        let src: &Mat = if lb.new_w == lb.src_w && lb.new_h == lb.src_h {
            image.mat()
        } else {
            opencv::imgproc::resize(
                image.mat(),
                &mut self.resized,
                Size::new(lb.new_w as i32, lb.new_h as i32),
                0.0,
                0.0,
                opencv::imgproc::INTER_LINEAR,
            )
            .map_err(cv(image.source()))?;
            &self.resized
        };
        let bytes = src.data_bytes().map_err(cv(image.source()))?;
        let (w, h) = (self.width as usize, self.height as usize);
        let plane = w * h;
        let (p0, rest) = self.tensor.split_at_mut(plane);
        let (p1, p2) = rest.split_at_mut(plane);
        let (nw, nh) = (lb.new_w as usize, lb.new_h as usize);
        let (px, py) = (lb.pad_x as usize, lb.pad_y as usize);
        let lut = &self.lut;
        match image.order() {
            ChannelOrder::Gray => {
                for y in 0..nh {
                    let row = &bytes[y * nw..(y + 1) * nw];
                    let o = (py + y) * w + px;
                    for (x, &g) in row.iter().enumerate() {
                        p0[o + x] = lut[0][g as usize];
                        p1[o + x] = lut[1][g as usize];
                        p2[o + x] = lut[2][g as usize];
                    }
                }
            }
            order => {
                // Byte index of the channel that goes into tensor plane 0 (R for RGB models).
                let src_is_rgb = order == ChannelOrder::Rgb;
                let first = if src_is_rgb == self.norm.rgb { 0 } else { 2 };
                let last = 2 - first;
                let (l0, l1, l2) = (&lut[0], &lut[1], &lut[2]);
                for y in 0..nh {
                    let row = &bytes[y * nw * 3..(y + 1) * nw * 3];
                    let o = (py + y) * w + px;
                    let planes = p0[o..o + nw]
                        .iter_mut()
                        .zip(&mut p1[o..o + nw])
                        .zip(&mut p2[o..o + nw]);
                    for (((a, b), c), px3) in planes.zip(row.chunks_exact(3)) {
                        // A u8 index is always inside the 256-entry tables.
                        *a = l0[px3[first] as usize];
                        *b = l1[px3[1] as usize];
                        *c = l2[px3[last] as usize];
                    }
                }
            }
        }
        Ok(lb)
    }

    fn fill_padding(&mut self) {
        let plane = self.width as usize * self.height as usize;
        let pad = self.norm.pad as usize;
        for c in 0..3 {
            let v = self.lut[c][pad];
            self.tensor[c * plane..(c + 1) * plane].fill(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_of_a_wide_image_pads_top_and_bottom() {
        let lb = Letterbox::new(800, 400, 640, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (640, 320, 0, 160));
        assert_eq!(lb.to_source(320.0, 320.0), (400.0, 200.0));
        assert_eq!(lb.to_input(0.0, 0.0), (0.0, 160.0));
    }

    #[test]
    fn preprocessor_writes_rgb_planes_and_padding() {
        // 2x1 image: red, blue (RGB bytes).
        let img = Image::from_rgb8(2, 1, &[255, 0, 0, 0, 0, 255]).unwrap();
        let mut pre = Preprocessor::new(2, 2, Normalization::YOLO);
        let lb = pre.run(&img).unwrap();
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (2, 1, 0, 0));
        let t = pre.tensor();
        // plane R: row 0 = [1, 0], row 1 = pad
        assert_eq!(&t[0..2], &[1.0, 0.0]);
        assert!((t[2] - 114.0 / 255.0).abs() < 1e-6);
        // plane B: row 0 = [0, 1]
        assert_eq!(&t[8..10], &[0.0, 1.0]);
    }

    #[test]
    fn ros_images_check_step_and_encoding() {
        let mut msg = CameraImage {
            header: Default::default(),
            height: 2,
            width: 2,
            encoding: "bgr8".into(),
            is_bigendian: 0,
            step: 8,
            data: vec![0; 16],
        };
        let img = Image::from_ros(&msg, "k").unwrap();
        assert_eq!((img.width(), img.height()), (2, 2));
        msg.data.truncate(10);
        assert_eq!(
            Image::from_ros(&msg, "k").unwrap_err().kind(),
            crate::ErrorKind::Image
        );
        msg.encoding = "yuv422".into();
        assert_eq!(
            Image::from_ros(&msg, "k").unwrap_err().kind(),
            crate::ErrorKind::Encoding
        );
    }

    #[test]
    fn depth_16uc1_is_millimetres_and_zero_is_invalid() {
        let msg = CameraImage {
            header: Default::default(),
            height: 1,
            width: 2,
            encoding: "16UC1".into(),
            is_bigendian: 0,
            step: 4,
            data: vec![0xd2, 0x04, 0, 0], // 1234 mm, 0
        };
        let d = DepthImage::from_ros(&msg, "k").unwrap();
        assert!((d.get(0, 0).unwrap() - 1.234).abs() < 1e-6);
        assert_eq!(d.get(1, 0), None);
    }
}
