//! The episode recorder: every message under `clea/<ns>/**` into one MCAP file.
//!
//! Channels are key expressions; messages are the JSON payloads as they travelled, with the JSON
//! Schema of their type (`jsonschema` schema encoding, `json` message encoding), so Foxglove and
//! the official `mcap` tools open the file. A Metadata record (`clea.episode`) holds the scenario
//! and seed; attachments hold the scenario file.
//!
//! Sensor data (camera images, compressed images, camera calibration, odometry) goes instead to
//! a second file next to it, `<stem>.ros2.mcap` ([`sensor_log_path`]), in the ROS 2 form:
//! profile `ros2`, CDR messages, `ros2msg` schemas ([`crate::ros2msg`]), topics named after the
//! keys (`/clea/<ns>/robot/<robot>/camera/<cam>/image`, `-` written `_`), so rosbag2, `rosbags`
//! and Foxglove read the frames as `sensor_msgs/msg/Image`. It is created with the first sensor
//! message (an episode without cameras has none); each channel keeps its key in its metadata
//! (`clea.key`), and [`read_log`] merges both files back into one message stream.
//!
//! Crash safety: the file is written append-only in uncompressed chunks straight to the file
//! (no user-space buffer), and the open chunk is closed at least every
//! [`RecorderOptions::flush_interval`]. A writer killed mid-episode leaves a file that readers
//! stream up to its last complete chunk: a crash loses at most the open chunk.

use crate::msg::{
    ActionRecord, Belief, CameraImage, CameraInfo, Detections, EStop, EpisodeEvent, ModelCall,
    Observation, Plan, RobotObservation, SkillFeedback, SkillResult, Transition, Verdict,
};
use crate::ros2msg::SensorType;
use crate::{Bus, BusError};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Errors of the recorder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The file could not be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The MCAP writer failed.
    #[error("{path}: mcap: {reason}")]
    Mcap {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The subscriber could not be declared.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Options of a recording.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Target size of a chunk, bytes.
    pub chunk_size: u64,
    /// Longest time a chunk stays open.
    pub flush_interval: Duration,
    /// Entries of the `clea.episode` Metadata record (scenario, seed, settings).
    pub metadata: BTreeMap<String, String>,
    /// Attachments: (name, media type, bytes), e.g. the scenario file.
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        Self {
            chunk_size: 64 * 1024,
            flush_interval: Duration::from_secs(1),
            metadata: BTreeMap::new(),
            attachments: Vec::new(),
        }
    }
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStats {
    /// The file.
    pub path: PathBuf,
    /// Messages written.
    pub messages: u64,
    /// Channels (distinct keys), in both files.
    pub channels: usize,
    /// The ROS 2 sensor log, when sensor messages were recorded.
    pub sensor_log: Option<PathBuf>,
}

/// `dir/<stem>.mcap`, or `dir/<stem>-N.mcap` with the smallest N such that neither that file nor
/// its [`sensor_log_path`] exists: logs are never overwritten.
pub fn unused_path(dir: &Path, stem: &str) -> PathBuf {
    let free = |p: &PathBuf| !p.exists() && !sensor_log_path(p).exists();
    let first = dir.join(format!("{stem}.mcap"));
    if free(&first) {
        return first;
    }
    (1..)
        .map(|n| dir.join(format!("{stem}-{n}.mcap")))
        .find(free)
        .expect("some index is free")
}

/// The ROS 2 sensor log that goes with the episode log `path`: `x.mcap` -> `x.ros2.mcap`.
pub fn sensor_log_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.ros2.mcap"))
}

/// Rename an episode log and its sensor log, if it has one (`from.ros2.mcap` → `to.ros2.mcap`).
///
/// # Errors
/// [`RecordError::Io`] naming the file that could not be renamed.
pub fn rename_log(from: &Path, to: &Path) -> Result<(), RecordError> {
    let mv = |a: &Path, b: &Path| {
        std::fs::rename(a, b).map_err(|source| RecordError::Io {
            path: b.to_path_buf(),
            source,
        })
    };
    mv(from, to)?;
    let sensors = sensor_log_path(from);
    if sensors.exists() {
        mv(&sensors, &sensor_log_path(to))?;
    }
    Ok(())
}

/// The ROS 2 topic for a bus key: `/` + the key, with `-` (not allowed in ROS 2 names) as `_`.
fn ros2_topic(key: &str) -> String {
    format!("/{}", key.replace('-', "_"))
}

/// A running recording; [`Recorder::finish`] closes the file.
pub struct Recorder {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<RecordStats, RecordError>>,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The message type name and JSON Schema for a key of namespace `ns`, if the key is one of the
/// runtime's.
pub fn schema_for_key(ns: &str, key: &str) -> Option<(&'static str, &'static str)> {
    let rest = key
        .strip_prefix("clea/")?
        .strip_prefix(ns)?
        .strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let name = match parts.as_slice() {
        ["observation"] => "clea.Observation",
        ["belief"] => "clea.Belief",
        ["plan"] => "clea.Plan",
        ["verdict"] => "clea.Verdict",
        ["action"] => "clea.ActionRecord",
        ["estop"] => "clea.EStop",
        ["episode", "event"] => "clea.EpisodeEvent",
        ["episode", "transition"] => "clea.Transition",
        ["model", "call"] => "clea.ModelCall",
        ["robot", _, "observation"] => "clea.RobotObservation",
        ["robot", _, "skill", _, "feedback"] => "clea.SkillFeedback",
        ["robot", _, "skill", _, "result"] => "clea.SkillResult",
        ["robot", _, "camera", _, "image" | "depth"] => "clea.CameraImage",
        ["robot", _, "camera", _, "camera_info"] => "clea.CameraInfo",
        ["robot", _, "perception", "detections"] => "clea.Detections",
        _ => return None,
    };
    schemas().get(name).map(|s| (name, s.as_str()))
}

fn schemas() -> &'static BTreeMap<&'static str, String> {
    static SCHEMAS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        fn s<T: schemars::JsonSchema>() -> String {
            serde_json::to_string(&schemars::schema_for!(T)).expect("schemas serialize")
        }
        BTreeMap::from([
            ("clea.Observation", s::<Observation>()),
            ("clea.Belief", s::<Belief>()),
            ("clea.Plan", s::<Plan>()),
            ("clea.Verdict", s::<Verdict>()),
            ("clea.ActionRecord", s::<ActionRecord>()),
            ("clea.EStop", s::<EStop>()),
            ("clea.EpisodeEvent", s::<EpisodeEvent>()),
            ("clea.Transition", s::<Transition>()),
            ("clea.ModelCall", s::<ModelCall>()),
            ("clea.RobotObservation", s::<RobotObservation>()),
            ("clea.SkillFeedback", s::<SkillFeedback>()),
            ("clea.SkillResult", s::<SkillResult>()),
            ("clea.CameraImage", s::<CameraImage>()),
            ("clea.CameraInfo", s::<CameraInfo>()),
            ("clea.Detections", s::<Detections>()),
        ])
    })
}

/// One MCAP file being written: its channels by key, per-channel sequence numbers.
struct McapFile {
    path: PathBuf,
    writer: mcap::Writer<File>,
    channels: BTreeMap<String, u16>,
    sequence: BTreeMap<u16, u32>,
    messages: u64,
}

impl McapFile {
    fn new(path: PathBuf, writer: mcap::Writer<File>) -> Self {
        Self {
            path,
            writer,
            channels: BTreeMap::new(),
            sequence: BTreeMap::new(),
            messages: 0,
        }
    }

    fn err(&self, e: mcap::McapError) -> RecordError {
        RecordError::Mcap {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// Write `payload` on the channel of `key`, declaring it with `declare` the first time.
    fn write(
        &mut self,
        key: &str,
        t: u64,
        payload: &[u8],
        declare: impl FnOnce(&mut mcap::Writer<File>) -> Result<u16, mcap::McapError>,
    ) -> Result<(), RecordError> {
        let channel = match self.channels.get(key) {
            Some(c) => *c,
            None => {
                let c = declare(&mut self.writer).map_err(|e| self.err(e))?;
                self.channels.insert(key.to_string(), c);
                c
            }
        };
        let seq = self.sequence.entry(channel).or_insert(0);
        *seq += 1;
        let header = mcap::records::MessageHeader {
            channel_id: channel,
            sequence: *seq,
            log_time: t,
            publish_time: t,
        };
        self.writer
            .write_to_known_channel(&header, payload)
            .map_err(|e| self.err(e))?;
        self.messages += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        self.writer.flush().map_err(|e| self.err(e))
    }

    fn finish(&mut self) -> Result<(), RecordError> {
        self.writer.finish().map(|_| ()).map_err(|e| self.err(e))
    }
}

/// The episode log and, once a sensor message arrived, its ROS 2 sensor log.
struct Sink {
    ns: String,
    log: McapFile,
    sensors: Option<McapFile>,
    /// The sensor log failed: sensor messages go to the episode log.
    sensors_failed: bool,
}

/// Create the `<stem>.ros2.mcap` file (profile `ros2`).
fn create_sensor_log(path: PathBuf) -> Result<McapFile, RecordError> {
    let file = File::create(&path).map_err(|source| RecordError::Io {
        path: path.clone(),
        source,
    })?;
    let writer = mcap::WriteOptions::new()
        .profile("ros2")
        .library(concat!("clea-bus ", env!("CARGO_PKG_VERSION")))
        .compression(None)
        .chunk_size(Some(1024 * 1024))
        .create(file)
        .map_err(|e| RecordError::Mcap {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    Ok(McapFile::new(path, writer))
}

impl Sink {
    fn write(&mut self, key: &str, payload: &[u8]) -> Result<(), RecordError> {
        let t = now_ns();
        if let Some(ty) = SensorType::for_key(&self.ns, key).filter(|_| !self.sensors_failed) {
            match ty.json_to_cdr(payload) {
                Ok(cdr) => match self.write_sensor(key, ty, &cdr, t) {
                    Ok(()) => return Ok(()),
                    // The sensor log is a convenience; the episode log must go on.
                    Err(e) => {
                        tracing::warn!(error = %e, "sensor log failed; sensor messages go to the episode log as JSON from now on");
                        self.sensors_failed = true;
                    }
                },
                // Not the expected message: keep it as it travelled, in the JSON log.
                Err(e) => tracing::debug!(%key, error = %e, "sensor payload logged as JSON"),
            }
        }
        let schema = schema_for_key(&self.ns, key);
        self.log.write(key, t, payload, |w| {
            let schema_id = match schema {
                Some((name, schema)) => w.add_schema(name, "jsonschema", schema.as_bytes())?,
                None => 0,
            };
            w.add_channel(schema_id, key, "json", &BTreeMap::new())
        })
    }

    fn write_sensor(
        &mut self,
        key: &str,
        ty: SensorType,
        cdr: &[u8],
        t: u64,
    ) -> Result<(), RecordError> {
        if self.sensors.is_none() {
            let path = sensor_log_path(&self.log.path);
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            self.sensors = Some(create_sensor_log(path)?);
            self.log
                .writer
                .write_metadata(&mcap::records::Metadata {
                    name: "clea.sensor_log".into(),
                    metadata: BTreeMap::from([("file".to_string(), name)]),
                })
                .map_err(|e| self.log.err(e))?;
        }
        let sensors = self.sensors.as_mut().expect("created above");
        sensors.write(key, t, cdr, |w| {
            let schema = w.add_schema(ty.name(), "ros2msg", ty.definition().as_bytes())?;
            let metadata = BTreeMap::from([("clea.key".to_string(), key.to_string())]);
            w.add_channel(schema, &ros2_topic(key), "cdr", &metadata)
        })
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        self.log.flush()?;
        if let Some(Err(e)) = self.sensors.as_mut().map(McapFile::flush) {
            tracing::warn!(error = %e, "the sensor log could not be flushed");
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordStats, RecordError> {
        self.log.finish()?;
        if let Some(s) = &mut self.sensors {
            if let Err(e) = s.finish() {
                tracing::warn!(error = %e, "the sensor log could not be closed");
            }
        }
        let sensors = self.sensors.as_ref();
        Ok(RecordStats {
            path: self.log.path.clone(),
            messages: self.log.messages + sensors.map_or(0, |s| s.messages),
            channels: self.log.channels.len() + sensors.map_or(0, |s| s.channels.len()),
            sensor_log: sensors.map(|s| s.path.clone()),
        })
    }
}

impl Recorder {
    /// Start recording every message of `bus`'s namespace into a new file at `path`.
    ///
    /// # Errors
    /// [`RecordError::Io`] when the file cannot be created; [`RecordError::Mcap`] when the
    /// header, metadata or attachments cannot be written; [`RecordError::Bus`] when the
    /// subscriber cannot be declared.
    pub async fn start(bus: &Bus, path: &Path, opts: RecorderOptions) -> Result<Self, RecordError> {
        let io = |source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File::create(path).map_err(io)?;
        let mcap_err = |e: mcap::McapError| RecordError::Mcap {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut writer = mcap::WriteOptions::new()
            .profile("clea")
            .library(concat!("clea-bus ", env!("CARGO_PKG_VERSION")))
            .compression(None)
            .chunk_size(Some(opts.chunk_size))
            .create(file)
            .map_err(mcap_err)?;
        writer
            .write_metadata(&mcap::records::Metadata {
                name: "clea.episode".into(),
                metadata: opts.metadata.clone(),
            })
            .map_err(mcap_err)?;
        for (name, media_type, data) in &opts.attachments {
            writer
                .attach(&mcap::Attachment {
                    log_time: now_ns(),
                    create_time: now_ns(),
                    name: name.clone(),
                    media_type: media_type.clone(),
                    data: Cow::Borrowed(data),
                })
                .map_err(mcap_err)?;
        }
        writer.flush().map_err(mcap_err)?;
        let sub = bus
            .session
            .declare_subscriber(bus.keys.all())
            .await
            .map_err(BusError::zenoh)?;
        let mut sink = Sink {
            ns: bus.keys.namespace().to_string(),
            log: McapFile::new(path.to_path_buf(), writer),
            sensors: None,
            sensors_failed: false,
        };
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let interval = opts.flush_interval;
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    s = sub.recv_async() => match s {
                        Ok(s) => sink.write(s.key_expr().as_str(), &s.payload().to_bytes())?,
                        Err(_) => break,
                    },
                    _ = tick.tick() => sink.flush()?,
                    _ = &mut stop_rx => break,
                }
            }
            // Everything published before `finish` is already queued: write it all.
            while let Ok(Some(s)) = sub.try_recv() {
                sink.write(s.key_expr().as_str(), &s.payload().to_bytes())?;
            }
            sink.finish()
        });
        Ok(Self {
            stop: Some(stop_tx),
            task,
        })
    }

    /// Write what is queued, the summary and the footer, and close the file.
    ///
    /// # Errors
    /// The first [`RecordError`] the writer met.
    pub async fn finish(mut self) -> Result<RecordStats, RecordError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(RecordError::Mcap {
                path: PathBuf::new(),
                reason: format!("recorder task ended abnormally: {e}"),
            }),
        }
    }
}

/// One message read back from an episode log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedMessage {
    /// Channel topic (the key expression).
    pub topic: String,
    /// Log time, ns since the Unix epoch.
    pub log_time: u64,
    /// The JSON payload.
    pub data: Vec<u8>,
}

/// An episode log read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeLog {
    /// Messages in file order (log order).
    pub messages: Vec<LoggedMessage>,
    /// The `clea.episode` metadata (empty if absent).
    pub metadata: BTreeMap<String, String>,
    /// Whether the file was cut short (no footer, e.g. the writer was killed): the messages are
    /// those of its complete chunks.
    pub truncated: bool,
}

/// Read an episode log, up to its last complete chunk if it was cut short, merged (by log time)
/// with its ROS 2 sensor log ([`sensor_log_path`]) when that file exists; sensor messages come
/// back as the JSON bus payloads they were recorded from, under their bus keys.
///
/// # Errors
/// [`RecordError::Io`] when a file cannot be read; [`RecordError::Mcap`] when it is not an MCAP
/// file at all or is damaged: a chunk whose CRC does not match its records (checked before any
/// of them is used), a record longer than the file, or anything in a complete file (one that ends
/// in the MCAP magic) that does not parse; the reason names the byte offset. A sensor message
/// that does not decode is skipped with a warning and marks the log `truncated`.
///
/// Any byte string gives a log or an error, never a panic; memory stays within a small multiple
/// of the file's size.
pub fn read_log(path: &Path) -> Result<EpisodeLog, RecordError> {
    let main = read_mcap(path)?;
    let mut log = EpisodeLog {
        messages: main.messages,
        metadata: main
            .metadata
            .get("clea.episode")
            .cloned()
            .unwrap_or_default(),
        truncated: main.truncated,
    };
    let sensor_path = sensor_log_path(path);
    if sensor_path.is_file() {
        let sensors = read_mcap(&sensor_path)?;
        log.truncated |= sensors.truncated;
        log.messages = merge_by_time(std::mem::take(&mut log.messages), sensors.messages);
    }
    Ok(log)
}

/// Interleave two message lists by log time, keeping each list's own order (a clock that steps
/// back reorders nothing within a file).
fn merge_by_time(a: Vec<LoggedMessage>, b: Vec<LoggedMessage>) -> Vec<LoggedMessage> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.log_time <= y.log_time,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}

/// The little-endian `u64` at `at` in `bytes` (MCAP's integers), `None` past the end.
fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The little-endian `u32` at `at` in `bytes`, `None` past the end.
fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The first chunk record whose uncompressed size cannot be right (MCAP spec, Chunk record:
/// `message_start_time u64, message_end_time u64, uncompressed_size u64, uncompressed_crc u32,
/// compression string, records bytes`): an uncompressed chunk's size must equal its records'
/// length, a compressed one's stay under 1 GiB. Records past the end of the file (a cut) end
/// the scan; the reader reports them. Returns (byte offset, reason).
fn chunk_size_damage(bytes: &[u8]) -> Option<(usize, String)> {
    const CHUNK: u8 = 0x06;
    let mut at = mcap::MAGIC.len();
    while let (Some(&opcode), Some(len)) = (bytes.get(at), le_u64(bytes, at + 1)) {
        let start = at + 9;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))?;
        let body = bytes.get(start..end)?;
        if opcode == CHUNK {
            let size = le_u64(body, 16)?;
            let name_len = le_u32(body, 28)? as usize;
            let compressed = name_len > 0;
            let records = le_u64(body, 32 + name_len)?;
            if (!compressed && size != records) || (compressed && size > 1 << 30) {
                return Some((
                    at,
                    format!("chunk says {size} bytes uncompressed for {records} bytes of records"),
                ));
            }
        }
        at = end;
    }
    None
}

/// Where a closed log's data or summary section fails its CRC (MCAP spec: DataEnd
/// `data_section_crc u32`, over every byte before the DataEnd record; Footer `summary_start
/// u64, summary_offset_start u64, summary_crc u32`, over the summary section and the footer up
/// to `summary_crc`). Checked before any record is parsed, because a damaged length field
/// inside a record (a string, a map) can make the parser allocate what it says before the
/// reader's own CRC checks at the end of each section. A CRC of zero means "not computed" and
/// is skipped, as is the summary CRC of a log without a summary. Returns (byte offset, reason); `None` for a log whose sections check out or whose
/// footer is not where a closed file has it (the reader then reports what it finds).
fn section_crc_damage(bytes: &[u8]) -> Option<(usize, String)> {
    const FOOTER: u8 = 0x02;
    const DATA_END: u8 = 0x0F;
    const FOOTER_LEN: usize = 1 + 8 + 8 + 8 + 4;
    const DATA_END_LEN: usize = 1 + 8 + 4;
    let footer_at = bytes.len().checked_sub(mcap::MAGIC.len() + FOOTER_LEN)?;
    if bytes[footer_at] != FOOTER || le_u64(bytes, footer_at + 1)? != (FOOTER_LEN - 9) as u64 {
        return Some((footer_at, "no footer before the end magic".into()));
    }
    let summary_start = le_u64(bytes, footer_at + 9)?;
    let summary_crc = le_u32(bytes, footer_at + 25)?;
    // Without a summary section, the data section ends at the footer.
    let data_end_at = match usize::try_from(summary_start) {
        Ok(0) => footer_at,
        Ok(s) if s <= footer_at => s,
        _ => {
            return Some((
                footer_at,
                format!("the footer puts the summary at byte {summary_start}, past the footer"),
            ))
        }
    }
    .checked_sub(DATA_END_LEN)
    .filter(|&at| at >= mcap::MAGIC.len());
    let Some(data_end_at) = data_end_at else {
        return Some((footer_at, "no data end record before the summary".into()));
    };
    if bytes[data_end_at] != DATA_END || le_u64(bytes, data_end_at + 1)? != 4 {
        return Some((data_end_at, "no data end record before the summary".into()));
    }
    let data_crc = le_u32(bytes, data_end_at + 9)?;
    if data_crc != 0 && crc32fast::hash(&bytes[..data_end_at]) != data_crc {
        return Some((data_end_at, "the data section fails its CRC".into()));
    }
    let summary_from = data_end_at + DATA_END_LEN;
    if summary_start != 0
        && summary_crc != 0
        && crc32fast::hash(&bytes[summary_from..footer_at + 25]) != summary_crc
    {
        return Some((footer_at, "the summary section fails its CRC".into()));
    }
    None
}

/// One MCAP file read back: messages (sensor messages decoded to JSON), metadata by name.
struct McapContents {
    messages: Vec<LoggedMessage>,
    metadata: BTreeMap<String, BTreeMap<String, String>>,
    truncated: bool,
}

fn read_mcap(path: &Path) -> Result<McapContents, RecordError> {
    use mcap::sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions};
    let bytes = std::fs::read(path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mcap_err = |reason: String| RecordError::Mcap {
        path: path.to_path_buf(),
        reason,
    };
    if !bytes.starts_with(mcap::MAGIC) {
        return Err(mcap_err(
            "not an MCAP file (no MCAP magic at the start)".into(),
        ));
    }
    // A file that ends in the magic was closed by its writer: any error in it is damage. One that
    // does not was cut (the writer was killed): reading stops at the first incomplete record.
    let complete = bytes.len() > 2 * mcap::MAGIC.len() && bytes.ends_with(mcap::MAGIC);
    // No record can be longer than the file (a damaged length field must not allocate or
    // overflow), and a chunk's CRC is checked before any of its records is used.
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_skip_end_magic(!complete)
            .with_record_length_limit(bytes.len())
            .with_prevalidate_chunk_crcs(true)
            .with_validate_data_section_crc(complete)
            .with_validate_summary_section_crc(complete),
    );
    let mut out = McapContents {
        messages: Vec::new(),
        metadata: BTreeMap::new(),
        truncated: !complete,
    };
    let mut schemas: HashMap<u16, String> = HashMap::new();
    let mut channels: HashMap<u16, mcap::records::Channel> = HashMap::new();
    // Bytes handed to the reader so far: where in the file an error was found.
    let mut fed = 0usize;
    let damaged = |at: usize, why: &dyn std::fmt::Display| {
        mcap_err(format!("damaged log at or before byte {at}: {why}"))
    };
    // A damaged chunk header could make the reader allocate what its size field says before
    // the CRC is checked: such a chunk is damage, found before reading. A closed log's section
    // CRCs are checked first for the same reason (a damaged length inside any record).
    if complete {
        if let Some((at, why)) = section_crc_damage(&bytes) {
            return Err(damaged(at, &why));
        }
    }
    if let Some((at, why)) = chunk_size_damage(&bytes) {
        return Err(damaged(at, &why));
    }
    // Where the footer record ends: the end magic must follow, and nothing after it.
    let mut footer_end = None;
    while let Some(event) = reader.next_event() {
        let event = match event {
            Ok(e) => e,
            // A cut file ends in a partial record, whose length reaches past the end of the
            // file: everything before it is intact.
            Err(
                mcap::McapError::UnexpectedEof
                | mcap::McapError::RecordTooLarge { .. }
                | mcap::McapError::ChunkTooLarge(_),
            ) if !complete => break,
            Err(e) => return Err(damaged(fed, &e)),
        };
        let (opcode, data) = match event {
            LinearReadEvent::ReadRequest(need) => {
                let n = need.min(bytes.len() - fed);
                reader.insert(n).copy_from_slice(&bytes[fed..fed + n]);
                reader.notify_read(n);
                fed += n;
                continue;
            }
            LinearReadEvent::Record { opcode, data } => (opcode, data),
        };
        let record = mcap::parse_record(opcode, data).map_err(|e| damaged(fed, &e))?;
        match record {
            mcap::records::Record::Footer(_) => footer_end = Some(fed),
            mcap::records::Record::Metadata(m) => {
                out.metadata.insert(m.name, m.metadata);
            }
            mcap::records::Record::Schema { header, .. } => {
                schemas.insert(header.id, header.name);
            }
            mcap::records::Record::Channel(c) => {
                channels.insert(c.id, c);
            }
            mcap::records::Record::Message { header, data } => {
                let Some(channel) = channels.get(&header.channel_id) else {
                    return Err(damaged(
                        fed,
                        &format!(
                            "message {} on channel {}, which no channel record declares",
                            header.sequence, header.channel_id
                        ),
                    ));
                };
                let sensor = schemas
                    .get(&channel.schema_id)
                    .filter(|_| channel.message_encoding == "cdr")
                    .and_then(|name| SensorType::from_name(name));
                let (topic, data) = match sensor {
                    Some(ty) => {
                        let key = channel
                            .metadata
                            .get("clea.key")
                            .cloned()
                            .unwrap_or_else(|| channel.topic.trim_start_matches('/').to_string());
                        match ty.cdr_to_json(&data) {
                            Ok(json) => (key, json),
                            Err(e) => {
                                // One undecodable message does not cost the rest of the log.
                                tracing::warn!(file = %path.display(), sequence = header.sequence,
                                    topic = %channel.topic, error = %e, "damaged sensor message skipped");
                                out.truncated = true;
                                continue;
                            }
                        }
                    }
                    None => (channel.topic.clone(), data.into_owned()),
                };
                out.messages.push(LoggedMessage {
                    topic,
                    log_time: header.log_time,
                    data,
                });
            }
            _ => {}
        }
    }
    if let Some(end) = footer_end {
        let tail = &bytes[end.min(bytes.len())..];
        if tail == mcap::MAGIC {
            out.truncated = false;
        } else if tail.len() < mcap::MAGIC.len() && mcap::MAGIC.starts_with(tail) {
            // Cut within the end magic: every record is there.
        } else if tail.starts_with(mcap::MAGIC) {
            return Err(damaged(
                end + mcap::MAGIC.len(),
                &format!(
                    "{} bytes after the end of the log (two logs in one file?)",
                    tail.len() - mcap::MAGIC.len()
                ),
            ));
        } else {
            return Err(damaged(end, &"the end magic after the footer is damaged"));
        }
    }
    Ok(out)
}

/// Options of a replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Time scale: 1.0 is the original timing, 2.0 twice as fast. `None`: as fast as possible.
    pub rate: Option<f64>,
    /// Only topics that intersect this key expression (e.g. `clea/*/robot/**`), matched
    /// against the recorded topics.
    pub topics: Option<String>,
    /// Publish under `clea/<namespace>/...` instead of the recorded namespace (a log of `clea
    /// sim`'s episode `i` is in `clea/<ns>-ep<i>/`); topics outside `clea/` are kept.
    pub namespace: Option<String>,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayStats {
    /// Messages published.
    pub messages: u64,
    /// Time between the first and the last replayed message in the log, s.
    pub log_span_s: f64,
    /// Wall time the replay took, s.
    pub wall_s: f64,
}

impl ReplayStats {
    /// Replay speed relative to real time (`log_span_s / wall_s`).
    pub fn speedup(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.log_span_s / self.wall_s
        } else {
            f64::INFINITY
        }
    }
}

/// Re-publish `log`'s messages on `bus` under their original key expressions, with their
/// original spacing scaled by `opts.rate` (like `ros2 bag play`), in log order. `progress` is
/// called after each message.
///
/// # Errors
/// [`RecordError::Bus`] for an invalid `opts.topics` expression or `opts.namespace`, or a failed
/// put.
pub async fn replay(
    bus: &Bus,
    log: &EpisodeLog,
    opts: &ReplayOptions,
    mut progress: impl FnMut(u64),
) -> Result<ReplayStats, RecordError> {
    use zenoh::key_expr::KeyExpr;
    if let Some(ns) = &opts.namespace {
        crate::keys::check_chunk(ns)
            .map_err(|e| BusError::Config(format!("--namespace {ns:?}: {e}")))?;
    }
    let target = |topic: &str| -> String {
        match (&opts.namespace, topic.strip_prefix("clea/")) {
            (Some(ns), Some(rest)) => match rest.split_once('/') {
                Some((_, tail)) => format!("clea/{ns}/{tail}"),
                None => topic.to_string(),
            },
            _ => topic.to_string(),
        }
    };
    let filter = match &opts.topics {
        Some(t) => Some(
            KeyExpr::try_from(t.clone())
                .map_err(|e| BusError::Config(format!("--topics {t:?}: {e}")))?,
        ),
        None => None,
    };
    let selected: Vec<&LoggedMessage> = log
        .messages
        .iter()
        .filter(|m| match (&filter, KeyExpr::try_from(m.topic.as_str())) {
            (None, _) => true,
            (Some(f), Ok(k)) => f.intersects(&k),
            (Some(_), Err(_)) => false,
        })
        .collect();
    let first = selected.first().map_or(0, |m| m.log_time);
    let last = selected.last().map_or(0, |m| m.log_time);
    let mut publishers: BTreeMap<String, zenoh::pubsub::Publisher<'static>> = BTreeMap::new();
    let t0 = tokio::time::Instant::now();
    let mut n = 0;
    for m in selected {
        if let Some(rate) = opts.rate {
            let offset = Duration::from_nanos(m.log_time.saturating_sub(first)).div_f64(rate);
            tokio::time::sleep_until(t0 + offset).await;
        }
        let topic = target(&m.topic);
        if !publishers.contains_key(&topic) {
            let p = bus
                .session
                .declare_publisher(topic.clone())
                .await
                .map_err(BusError::zenoh)?;
            publishers.insert(topic.clone(), p);
        }
        publishers[&topic]
            .put(m.data.clone())
            .await
            .map_err(BusError::zenoh)?;
        n += 1;
        progress(n);
    }
    Ok(ReplayStats {
        messages: n,
        log_span_s: last.saturating_sub(first) as f64 / 1e9,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An uncompressed MCAP file with one chunk of `n` messages.
    fn log(n: u32) -> Vec<u8> {
        let mut w = mcap::WriteOptions::new()
            .compression(None)
            .create(std::io::Cursor::new(Vec::new()))
            .expect("writer");
        let ch = w
            .add_channel(0, "clea/t/action", "json", &BTreeMap::new())
            .expect("channel");
        for i in 0..n {
            let header = mcap::records::MessageHeader {
                channel_id: ch,
                sequence: i,
                log_time: u64::from(i),
                publish_time: u64::from(i),
            };
            w.write_to_known_channel(&header, b"{}").expect("message");
        }
        w.finish().expect("finish");
        w.into_inner().into_inner()
    }

    #[test]
    fn a_chunk_whose_size_field_is_damaged_is_damage_before_any_allocation() {
        let bytes = log(3);
        assert_eq!(chunk_size_damage(&bytes), None);
        // The chunk is the first record after the header: find it by its opcode.
        let mut at = mcap::MAGIC.len();
        loop {
            let len = u64::from_le_bytes(bytes[at + 1..at + 9].try_into().unwrap()) as usize;
            if bytes[at] == 0x06 {
                break;
            }
            at += 9 + len;
        }
        // uncompressed_size is the body's third u64; its top byte turned into 0x6d claims ~7.8 EB.
        let mut bad = bytes.clone();
        bad[at + 9 + 16 + 7] ^= 0x6d;
        let (where_, why) = chunk_size_damage(&bad).expect("damage found");
        assert_eq!(where_, at);
        assert!(why.contains("uncompressed"), "{why}");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.mcap");
        std::fs::write(&path, &bad).unwrap();
        let err = read_log(&path).expect_err("damaged").to_string();
        assert!(err.contains("damaged log at or before byte"), "{err}");
        // A cut inside the chunk ends the scan: the reader reports the cut.
        assert_eq!(chunk_size_damage(&bytes[..at + 20]), None);
    }

    #[test]
    fn a_closed_log_with_any_byte_changed_outside_its_chunks_is_damage_or_intact() {
        let bytes = log(3);
        assert_eq!(section_crc_damage(&bytes), None);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("flip.mcap");
        let original = read_log(path_with(&path, &bytes)).expect("intact").messages;
        // Every byte after the header magic and before the end magic, every bit: the sections'
        // CRCs (or the footer's shape) catch it before any record is parsed, or the messages
        // read back unchanged.
        let end = bytes.len() - mcap::MAGIC.len();
        for at in mcap::MAGIC.len()..end {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[at] ^= 1 << bit;
                match read_log(path_with(&path, &bad)) {
                    Err(e) => assert!(e.to_string().contains("damaged"), "byte {at}: {e}"),
                    Ok(l) => assert_eq!(l.messages, original, "byte {at} bit {bit} accepted"),
                }
            }
        }
        // The summary starts right after the data end record; a flip there is the summary's.
        let footer_at = end - 29;
        let summary_start =
            u64::from_le_bytes(bytes[footer_at + 9..footer_at + 17].try_into().unwrap()) as usize;
        let mut bad = bytes.clone();
        bad[summary_start + 12] ^= 0x40;
        let (_, why) = section_crc_damage(&bad).expect("damage found");
        assert!(why.contains("summary"), "{why}");
    }

    fn path_with<'a>(path: &'a Path, bytes: &[u8]) -> &'a Path {
        std::fs::write(path, bytes).expect("write");
        path
    }
}
