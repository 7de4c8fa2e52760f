//! ROS 2 wire format of the sensor messages: CDR (XCDR1, little endian, with the 4-byte
//! encapsulation header, as rmw_fastrtps and rosbag2 write it) and `ros2msg` definitions.
//!
//! The episode recorder writes camera frames, camera calibration and odometry in this format to
//! a ROS 2 MCAP file (profile `ros2`) next to the JSON episode log, so rosbag2, `rosbags` and
//! Foxglove read them as `sensor_msgs/msg/Image`, `sensor_msgs/msg/CompressedImage`,
//! `sensor_msgs/msg/CameraInfo` and `nav_msgs/msg/Odometry` (definitions: ROS 2 `common_interfaces`,
//! Kilted). The bus messages convert both ways; a bus [`CameraInfo`] keeps only the fields
//! perception uses, so the CDR form gets `R` = identity, `P` = `[K | 0]`, no binning and no ROI.
//!
//! The encoding itself is the `cdr` crate's (serde), on mirror structs whose field order is the
//! message definition's.

use crate::msg::{
    CameraImage, CameraInfo, CompressedImage, Header, Odometry, Point3, Pose, Quaternion, Time,
    Twist,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A sensor message type that is logged in ROS 2 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensorType {
    /// `sensor_msgs/msg/Image` (bus [`CameraImage`]).
    Image,
    /// `sensor_msgs/msg/CompressedImage` (bus [`CompressedImage`]).
    CompressedImage,
    /// `sensor_msgs/msg/CameraInfo` (bus [`CameraInfo`]).
    CameraInfo,
    /// `nav_msgs/msg/Odometry` (bus [`Odometry`]).
    Odometry,
}

/// Errors of the conversion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ros2MsgError {
    /// The JSON payload is not the bus message of this type.
    #[error("{ty}: not a valid bus message: {reason}")]
    Json {
        /// The ROS 2 type.
        ty: &'static str,
        /// serde_json's message.
        reason: String,
    },
    /// The CDR bytes do not decode as this type.
    #[error("{ty}: invalid CDR: {reason}")]
    Cdr {
        /// The ROS 2 type.
        ty: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

const SEP: &str =
    "================================================================================\n";

const HEADER_DEPS: &str =
    "================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
";

impl SensorType {
    /// The type for a bus key of namespace `ns` (`.../camera/<cam>/image|depth|image_compressed|
    /// camera_info`, `.../robot/<robot>/odom`), if the key carries one.
    pub fn for_key(ns: &str, key: &str) -> Option<Self> {
        let rest = key
            .strip_prefix("clea/")?
            .strip_prefix(ns)?
            .strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            ["robot", _, "camera", _, "image" | "depth"] => Some(Self::Image),
            ["robot", _, "camera", _, "image_compressed"] => Some(Self::CompressedImage),
            ["robot", _, "camera", _, "camera_info"] => Some(Self::CameraInfo),
            ["robot", _, "odom"] => Some(Self::Odometry),
            _ => None,
        }
    }

    /// The type for a ROS 2 type name (`sensor_msgs/msg/Image`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Image,
            Self::CompressedImage,
            Self::CameraInfo,
            Self::Odometry,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// The ROS 2 type name, e.g. `sensor_msgs/msg/Image`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "sensor_msgs/msg/Image",
            Self::CompressedImage => "sensor_msgs/msg/CompressedImage",
            Self::CameraInfo => "sensor_msgs/msg/CameraInfo",
            Self::Odometry => "nav_msgs/msg/Odometry",
        }
    }

    /// The `ros2msg` schema: the type's definition followed by its dependencies, each after a
    /// line of 80 `=` and `MSG: <pkg>/<Type>` (the MCAP `ros2msg` schema encoding).
    pub fn definition(self) -> String {
        match self {
            Self::Image => format!(
                "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n\
                 uint8 is_bigendian\nuint32 step\nuint8[] data\n{HEADER_DEPS}"
            ),
            Self::CompressedImage => {
                format!("std_msgs/Header header\nstring format\nuint8[] data\n{HEADER_DEPS}")
            }
            Self::CameraInfo => format!(
                "std_msgs/Header header\nuint32 height\nuint32 width\nstring distortion_model\n\
                 float64[] d\nfloat64[9] k\nfloat64[9] r\nfloat64[12] p\nuint32 binning_x\n\
                 uint32 binning_y\nsensor_msgs/RegionOfInterest roi\n{HEADER_DEPS}{SEP}\
                 MSG: sensor_msgs/RegionOfInterest\nuint32 x_offset\nuint32 y_offset\n\
                 uint32 height\nuint32 width\nbool do_rectify\n"
            ),
            Self::Odometry => format!(
                "std_msgs/Header header\nstring child_frame_id\n\
                 geometry_msgs/PoseWithCovariance pose\ngeometry_msgs/TwistWithCovariance twist\n\
                 {HEADER_DEPS}{SEP}MSG: geometry_msgs/PoseWithCovariance\n\
                 geometry_msgs/Pose pose\nfloat64[36] covariance\n\
                 {SEP}MSG: geometry_msgs/Pose\ngeometry_msgs/Point position\n\
                 geometry_msgs/Quaternion orientation\n\
                 {SEP}MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n\
                 {SEP}MSG: geometry_msgs/Quaternion\nfloat64 x\nfloat64 y\nfloat64 z\nfloat64 w\n\
                 {SEP}MSG: geometry_msgs/TwistWithCovariance\ngeometry_msgs/Twist twist\n\
                 float64[36] covariance\n\
                 {SEP}MSG: geometry_msgs/Twist\ngeometry_msgs/Vector3 linear\n\
                 geometry_msgs/Vector3 angular\n\
                 {SEP}MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"
            ),
        }
    }

    /// Encode a bus message's JSON payload as CDR.
    ///
    /// # Errors
    /// [`Ros2MsgError::Json`] when `json` is not the bus message of this type.
    pub fn json_to_cdr(self, json: &[u8]) -> Result<Vec<u8>, Ros2MsgError> {
        fn parse<T: serde::de::DeserializeOwned>(
            ty: &'static str,
            json: &[u8],
        ) -> Result<T, Ros2MsgError> {
            serde_json::from_slice(json).map_err(|e| Ros2MsgError::Json {
                ty,
                reason: e.to_string(),
            })
        }
        let ty = self.name();
        Ok(match self {
            Self::Image => encode(&RosImage::from(parse::<CameraImage>(ty, json)?)),
            Self::CompressedImage => encode(&RosCompressedImage::from(parse::<CompressedImage>(
                ty, json,
            )?)),
            Self::CameraInfo => encode(&RosCameraInfo::from(parse::<CameraInfo>(ty, json)?)),
            Self::Odometry => {
                let m = parse::<Odometry>(ty, json)?;
                // float64[36] or nothing: any other length has no CDR form (kept as JSON).
                let covariances = [
                    ("pose_covariance", &m.pose_covariance),
                    ("twist_covariance", &m.twist_covariance),
                ];
                for (field, c) in covariances {
                    if !c.is_empty() && c.len() != 36 {
                        return Err(Ros2MsgError::Json {
                            ty,
                            reason: format!("{field} has {} entries, not 36", c.len()),
                        });
                    }
                }
                encode(&RosOdometry::from(m))
            }
        })
    }

    /// Decode CDR bytes into the bus message's JSON payload.
    ///
    /// # Errors
    /// [`Ros2MsgError::Cdr`] when the bytes are not a CDR message of this type (a string or
    /// sequence longer than the bytes left is caught before anything is allocated for it).
    pub fn cdr_to_json(self, cdr_bytes: &[u8]) -> Result<Vec<u8>, Ros2MsgError> {
        let ty = self.name();
        check_lengths(self, cdr_bytes).map_err(|reason| Ros2MsgError::Cdr { ty, reason })?;
        let err = |e: cdr::Error| Ros2MsgError::Cdr {
            ty,
            reason: e.to_string(),
        };
        let json = match self {
            Self::Image => to_json(&CameraImage::from(
                cdr::deserialize::<RosImage>(cdr_bytes).map_err(err)?,
            )),
            Self::CompressedImage => to_json(&CompressedImage::from(
                cdr::deserialize::<RosCompressedImage>(cdr_bytes).map_err(err)?,
            )),
            Self::CameraInfo => to_json(&CameraInfo::from(
                cdr::deserialize::<RosCameraInfo>(cdr_bytes).map_err(err)?,
            )),
            Self::Odometry => to_json(&Odometry::from(
                cdr::deserialize::<RosOdometry>(cdr_bytes).map_err(err)?,
            )),
        };
        Ok(json)
    }
}

/// The wire layout of the four types, as far as lengths go: enough to check every length
/// prefix against the bytes left before the decoder allocates that much.
#[derive(Clone, Copy)]
enum Field {
    U8,
    U32,
    /// `n` doubles, no length prefix.
    F64(usize),
    /// `string` or `uint8[]`: u32 length, then that many bytes.
    Bytes,
    /// `float64[]`: u32 length, then that many doubles.
    SeqF64,
}

fn layout(ty: SensorType) -> Vec<Field> {
    use Field::*;
    let header = [U32, U32, Bytes];
    let body: &[Field] = match ty {
        SensorType::Image => &[U32, U32, Bytes, U8, U32, Bytes],
        SensorType::CompressedImage => &[Bytes, Bytes],
        SensorType::CameraInfo => &[
            U32,
            U32,
            Bytes,
            SeqF64,
            F64(9),
            F64(9),
            F64(12),
            U32,
            U32,
            U32,
            U32,
            U32,
            U32,
            U8,
        ],
        SensorType::Odometry => &[Bytes, F64(7), F64(36), F64(6), F64(36)],
    };
    header.iter().chain(body).copied().collect()
}

/// Walk `bytes` (after the 4-byte encapsulation header; alignment counts from there) along the
/// type's layout, checking that every length prefix fits in what is left.
fn check_lengths(ty: SensorType, bytes: &[u8]) -> Result<(), String> {
    let body = bytes
        .get(4..)
        .ok_or("shorter than the encapsulation header")?;
    let mut pos = 0usize;
    let align = |pos: usize, n: usize| pos.div_ceil(n) * n;
    let take = |pos: usize, n: usize| -> Result<usize, String> {
        let end = pos.checked_add(n).ok_or("length overflows")?;
        if end > body.len() {
            return Err(format!(
                "a field of {n} bytes at offset {pos} runs past the end ({} bytes)",
                body.len()
            ));
        }
        Ok(end)
    };
    let u32_at =
        |pos: usize| u32::from_le_bytes([body[pos], body[pos + 1], body[pos + 2], body[pos + 3]]);
    for f in layout(ty) {
        pos = match f {
            Field::U8 => take(pos, 1)?,
            Field::U32 => take(align(pos, 4), 4)?,
            Field::F64(n) => take(align(pos, 8), 8 * n)?,
            Field::Bytes => {
                let p = align(pos, 4);
                let end = take(p, 4)?;
                take(end, u32_at(p) as usize)?
            }
            Field::SeqF64 => {
                let p = align(pos, 4);
                let end = take(p, 4)?;
                let n = u32_at(p) as usize;
                take(align(end, 8), n.checked_mul(8).ok_or("length overflows")?)?
            }
        };
    }
    Ok(())
}

fn encode<T: Serialize>(m: &T) -> Vec<u8> {
    // Plain structs of numbers, strings and sequences always serialize.
    cdr::serialize::<_, _, cdr::CdrLe>(m, cdr::Infinite).expect("CDR encoding of a plain struct")
}

fn to_json<T: Serialize>(m: &T) -> Vec<u8> {
    serde_json::to_vec(m).expect("bus messages serialize")
}

/// Encode a bus [`CameraImage`] as a CDR `sensor_msgs/msg/Image`.
pub fn image_to_cdr(m: &CameraImage) -> Vec<u8> {
    encode(&RosImage::from(m.clone()))
}

#[derive(Serialize, Deserialize)]
struct RosTime {
    sec: i32,
    nanosec: u32,
}

#[derive(Serialize, Deserialize)]
struct RosHeader {
    stamp: RosTime,
    frame_id: String,
}

impl From<Header> for RosHeader {
    fn from(h: Header) -> Self {
        Self {
            stamp: RosTime {
                sec: h.stamp.sec,
                nanosec: h.stamp.nanosec,
            },
            frame_id: h.frame_id,
        }
    }
}

impl From<RosHeader> for Header {
    fn from(h: RosHeader) -> Self {
        Self {
            stamp: Time {
                sec: h.stamp.sec,
                nanosec: h.stamp.nanosec,
            },
            frame_id: h.frame_id,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RosImage {
    header: RosHeader,
    height: u32,
    width: u32,
    encoding: String,
    is_bigendian: u8,
    step: u32,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

impl From<CameraImage> for RosImage {
    fn from(m: CameraImage) -> Self {
        Self {
            header: m.header.into(),
            height: m.height,
            width: m.width,
            encoding: m.encoding,
            is_bigendian: m.is_bigendian,
            step: m.step,
            data: m.data,
        }
    }
}

impl From<RosImage> for CameraImage {
    fn from(m: RosImage) -> Self {
        Self {
            header: m.header.into(),
            height: m.height,
            width: m.width,
            encoding: m.encoding,
            is_bigendian: m.is_bigendian,
            step: m.step,
            data: m.data,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RosCompressedImage {
    header: RosHeader,
    format: String,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

impl From<CompressedImage> for RosCompressedImage {
    fn from(m: CompressedImage) -> Self {
        Self {
            header: m.header.into(),
            format: m.format,
            data: m.data,
        }
    }
}

impl From<RosCompressedImage> for CompressedImage {
    fn from(m: RosCompressedImage) -> Self {
        Self {
            header: m.header.into(),
            format: m.format,
            data: m.data,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RosRegionOfInterest {
    x_offset: u32,
    y_offset: u32,
    height: u32,
    width: u32,
    do_rectify: bool,
}

#[derive(Serialize, Deserialize)]
struct RosCameraInfo {
    header: RosHeader,
    height: u32,
    width: u32,
    distortion_model: String,
    d: Vec<f64>,
    k: [f64; 9],
    r: [f64; 9],
    p: [f64; 12],
    binning_x: u32,
    binning_y: u32,
    roi: RosRegionOfInterest,
}

impl From<CameraInfo> for RosCameraInfo {
    fn from(m: CameraInfo) -> Self {
        let k = m.k;
        Self {
            header: m.header.into(),
            height: m.height,
            width: m.width,
            distortion_model: m.distortion_model,
            d: m.d,
            k,
            r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            p: [
                k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0,
            ],
            binning_x: 0,
            binning_y: 0,
            roi: RosRegionOfInterest {
                x_offset: 0,
                y_offset: 0,
                height: 0,
                width: 0,
                do_rectify: false,
            },
        }
    }
}

impl From<RosCameraInfo> for CameraInfo {
    fn from(m: RosCameraInfo) -> Self {
        Self {
            header: m.header.into(),
            height: m.height,
            width: m.width,
            distortion_model: m.distortion_model,
            d: m.d,
            k: m.k,
        }
    }
}

/// `float64[36]`: serde implements arrays up to 32 elements only, so this one is written as a
/// 36-tuple by hand (CDR: 36 doubles, no length).
struct Cov36([f64; 36]);

impl Serialize for Cov36 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(36)?;
        for v in &self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Cov36 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cov36;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("36 doubles")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Cov36, A::Error> {
                let mut out = [0.0; 36];
                for (i, v) in out.iter_mut().enumerate() {
                    *v = a
                        .next_element()?
                        .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                }
                Ok(Cov36(out))
            }
        }
        d.deserialize_tuple(36, V)
    }
}

impl Cov36 {
    /// 36 entries as given; an empty (or malformed) covariance becomes zeros, as ROS drivers
    /// send "unknown".
    fn from_vec(v: &[f64]) -> Self {
        let mut out = [0.0; 36];
        if v.len() == 36 {
            out.copy_from_slice(v);
        }
        Self(out)
    }

    fn into_vec(self) -> Vec<f64> {
        if self.0.iter().all(|v| *v == 0.0) {
            Vec::new()
        } else {
            self.0.to_vec()
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RosVector3 {
    x: f64,
    y: f64,
    z: f64,
}

#[derive(Serialize, Deserialize)]
struct RosQuaternion {
    x: f64,
    y: f64,
    z: f64,
    w: f64,
}

#[derive(Serialize, Deserialize)]
struct RosPose {
    position: RosVector3,
    orientation: RosQuaternion,
}

#[derive(Serialize, Deserialize)]
struct RosPoseWithCovariance {
    pose: RosPose,
    covariance: Cov36,
}

#[derive(Serialize, Deserialize)]
struct RosTwist {
    linear: RosVector3,
    angular: RosVector3,
}

#[derive(Serialize, Deserialize)]
struct RosTwistWithCovariance {
    twist: RosTwist,
    covariance: Cov36,
}

#[derive(Serialize, Deserialize)]
struct RosOdometry {
    header: RosHeader,
    child_frame_id: String,
    pose: RosPoseWithCovariance,
    twist: RosTwistWithCovariance,
}

fn v3(v: [f64; 3]) -> RosVector3 {
    RosVector3 {
        x: v[0],
        y: v[1],
        z: v[2],
    }
}

impl From<Odometry> for RosOdometry {
    fn from(m: Odometry) -> Self {
        let p = m.pose;
        Self {
            header: m.header.into(),
            child_frame_id: m.child_frame_id,
            pose: RosPoseWithCovariance {
                pose: RosPose {
                    position: v3([p.position.x, p.position.y, p.position.z]),
                    orientation: RosQuaternion {
                        x: p.orientation.x,
                        y: p.orientation.y,
                        z: p.orientation.z,
                        w: p.orientation.w,
                    },
                },
                covariance: Cov36::from_vec(&m.pose_covariance),
            },
            twist: RosTwistWithCovariance {
                twist: RosTwist {
                    linear: v3(m.twist.linear),
                    angular: v3(m.twist.angular),
                },
                covariance: Cov36::from_vec(&m.twist_covariance),
            },
        }
    }
}

impl From<RosOdometry> for Odometry {
    fn from(m: RosOdometry) -> Self {
        let (p, t) = (m.pose.pose, m.twist.twist);
        Self {
            header: m.header.into(),
            child_frame_id: m.child_frame_id,
            pose: Pose {
                position: Point3 {
                    x: p.position.x,
                    y: p.position.y,
                    z: p.position.z,
                },
                orientation: Quaternion {
                    x: p.orientation.x,
                    y: p.orientation.y,
                    z: p.orientation.z,
                    w: p.orientation.w,
                },
            },
            pose_covariance: m.pose.covariance.into_vec(),
            twist: Twist {
                linear: [t.linear.x, t.linear.y, t.linear.z],
                angular: [t.angular.x, t.angular.y, t.angular.z],
            },
            twist_covariance: m.twist.covariance.into_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            stamp: Time {
                sec: 12,
                nanosec: 345,
            },
            frame_id: "head_camera_optical".into(),
        }
    }

    #[test]
    fn keys_map_to_types() {
        let t = |k: &str| SensorType::for_key("kitchen", k);
        assert_eq!(
            t("clea/kitchen/robot/r1/camera/head/image"),
            Some(SensorType::Image)
        );
        assert_eq!(
            t("clea/kitchen/robot/r1/camera/head/depth"),
            Some(SensorType::Image)
        );
        assert_eq!(
            t("clea/kitchen/robot/r1/camera/head/image_compressed"),
            Some(SensorType::CompressedImage)
        );
        assert_eq!(
            t("clea/kitchen/robot/r1/camera/head/camera_info"),
            Some(SensorType::CameraInfo)
        );
        assert_eq!(t("clea/kitchen/robot/r1/odom"), Some(SensorType::Odometry));
        assert_eq!(t("clea/other/robot/r1/odom"), None);
        assert_eq!(t("clea/kitchen/robot/r1/observation"), None);
    }

    #[test]
    fn image_has_the_ros2_layout() {
        let m = CameraImage {
            header: header(),
            height: 1,
            width: 2,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: 6,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        let b = image_to_cdr(&m);
        // Encapsulation (CDR_LE), sec, nanosec, "head_camera_optical\0" (len 20), ...
        assert_eq!(&b[..4], &[0, 1, 0, 0]);
        assert_eq!(&b[4..8], &12i32.to_le_bytes());
        assert_eq!(&b[8..12], &345u32.to_le_bytes());
        assert_eq!(&b[12..16], &20u32.to_le_bytes());
        assert_eq!(&b[16..36], b"head_camera_optical\0");
        assert_eq!(&b[b.len() - 10..], &[6, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn every_type_round_trips_through_cdr() {
        let cases: Vec<(SensorType, Vec<u8>)> = vec![
            (
                SensorType::Image,
                to_json(&CameraImage {
                    header: header(),
                    height: 2,
                    width: 1,
                    encoding: "16UC1".into(),
                    is_bigendian: 0,
                    step: 2,
                    data: vec![0, 1, 2, 3],
                }),
            ),
            (
                SensorType::CompressedImage,
                to_json(&CompressedImage {
                    header: header(),
                    format: "jpeg".into(),
                    data: vec![0xff, 0xd8, 0xff],
                }),
            ),
            (
                SensorType::CameraInfo,
                to_json(&CameraInfo {
                    header: header(),
                    height: 480,
                    width: 640,
                    distortion_model: "plumb_bob".into(),
                    d: vec![0.1, 0.0, 0.0, 0.0, 0.0],
                    k: [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0],
                }),
            ),
            (
                SensorType::Odometry,
                to_json(&Odometry {
                    header: header(),
                    child_frame_id: "base_link".into(),
                    pose: Pose {
                        position: Point3 {
                            x: 1.0,
                            y: 2.0,
                            z: 0.0,
                        },
                        orientation: Quaternion {
                            x: 0.0,
                            y: 0.0,
                            z: 0.6,
                            w: 0.8,
                        },
                    },
                    pose_covariance: (0..36).map(f64::from).collect(),
                    twist: Twist {
                        linear: [0.5, 0.0, 0.0],
                        angular: [0.0, 0.0, 0.1],
                    },
                    twist_covariance: vec![],
                }),
            ),
        ];
        for (ty, json) in cases {
            let cdr_bytes = ty.json_to_cdr(&json).unwrap();
            let back = ty.cdr_to_json(&cdr_bytes).unwrap();
            let (a, b): (serde_json::Value, serde_json::Value) = (
                serde_json::from_slice(&json).unwrap(),
                serde_json::from_slice(&back).unwrap(),
            );
            assert_eq!(a, b, "{}", ty.name());
            assert_eq!(SensorType::from_name(ty.name()), Some(ty));
            assert!(ty.definition().lines().count() > 3);
        }
    }

    #[test]
    fn a_length_past_the_end_is_caught_before_allocation() {
        let m = CameraImage {
            header: header(),
            height: 1,
            width: 2,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: 6,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        let mut b = image_to_cdr(&m);
        // The data length (the u32 before the last 6 bytes) set to 4 GiB - 1.
        let n = b.len();
        b[n - 10..n - 6].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = SensorType::Image.cdr_to_json(&b).unwrap_err();
        assert!(e.to_string().contains("runs past the end"), "{e}");
        // A well-formed message passes (the round-trip test checks every type).
        check_lengths(SensorType::Image, &image_to_cdr(&m)).unwrap();
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let e = SensorType::Image.json_to_cdr(b"{\"x\":1}").unwrap_err();
        assert!(e.to_string().contains("sensor_msgs/msg/Image"), "{e}");
        let mut odom = serde_json::to_value(Odometry::default()).unwrap();
        odom["pose_covariance"] = serde_json::json!([1.0, 2.0]);
        let e = SensorType::Odometry
            .json_to_cdr(odom.to_string().as_bytes())
            .unwrap_err();
        assert!(
            e.to_string().contains("pose_covariance has 2 entries"),
            "{e}"
        );
        let e = SensorType::Odometry
            .cdr_to_json(&[0, 1, 0, 0, 1])
            .unwrap_err();
        assert!(e.to_string().contains("invalid CDR"), "{e}");
    }
}
