//! rosbag2 bags with MCAP storage: a typed writer, a reader, `info` and `repair`.
//!
//! Bags are directories holding `metadata.yaml` (rosbag2 version 9) and one MCAP file with
//! profile `ros2`, `ros2msg` schemas (every dependency embedded), `cdr` messages and zstd
//! chunks — what `ros2 bag record` writes on Jazzy, readable by `ros2 bag`, Foxglove and the
//! Python `rosbags` and `mcap` readers.
//!
//! Crash safety: chunks go to the file as soon as they are full, the run metadata is written
//! first, and `metadata.yaml` exists from the start. After a `kill -9` the reader returns every
//! message of every complete chunk and says the bag is incomplete; [`repair`] rewrites it whole.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod metadata;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use g1_msgs::{schema_text, to_cdr, Message};
use mcap::records::MessageHeader;
use mcap::{Compression, WriteOptions};
pub use metadata::Qos;
use metadata::*;
use thiserror::Error;

/// Name of the MCAP metadata record holding the recording's run information.
pub const RUN_METADATA: &str = "g1d_run";

#[derive(Debug, Error)]
pub enum BagError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: already exists (choose a new bag directory)")]
    Exists(PathBuf),
    #[error("{path}: not a bag (no metadata.yaml or .mcap file found)")]
    NotABag { path: PathBuf },
    #[error("{path}: bad metadata.yaml: {msg}")]
    BadMetadata { path: PathBuf, msg: String },
    #[error("{path}: corrupted MCAP data after {messages} good messages: {msg}")]
    Corrupt {
        path: PathBuf,
        messages: u64,
        msg: String,
    },
    #[error("{path}: MCAP error: {msg}")]
    Mcap { path: PathBuf, msg: String },
    #[error("{0}: the bag writer is already finished")]
    Finished(PathBuf),
    #[error("topic {topic}: type is {actual}, expected {expected}")]
    WrongType {
        topic: String,
        actual: String,
        expected: String,
    },
    #[error("topic {topic} at {time_ns} ns: cannot decode {type_name}: {source}")]
    Decode {
        topic: String,
        type_name: String,
        time_ns: u64,
        source: g1_msgs::CdrError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BagError + '_ {
    move |source| BagError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options of a recording.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Uncompressed chunk size in bytes (rosbag2's default is 768 KiB).
    pub chunk_size: u64,
    /// zstd level.
    pub compression_level: u32,
    /// Only these topics are recorded (all when `None`).
    pub allow_topics: Option<Vec<String>>,
    /// Run information (config, git revision, hashes): stored as the `g1d_run` MCAP metadata
    /// record at the start of the file and in `metadata.yaml` `custom_data`.
    pub run_metadata: BTreeMap<String, String>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            chunk_size: 768 * 1024,
            compression_level: 3,
            allow_topics: None,
            run_metadata: BTreeMap::new(),
        }
    }
}

/// A topic registered in a [`BagWriter`]; writes to a topic outside the allow-list are dropped.
pub struct Topic<M> {
    index: Option<usize>,
    _m: PhantomData<fn(M)>,
}

impl<M> Topic<M> {
    pub fn is_recorded(&self) -> bool {
        self.index.is_some()
    }
}

struct TopicEntry {
    name: String,
    type_name: String,
    qos: Qos,
    channel: u16,
    count: u64,
    sequence: u32,
}

/// Writes one rosbag2 directory.
pub struct BagWriter {
    dir: PathBuf,
    file_name: String,
    mcap: Option<mcap::Writer<File>>,
    topics: Vec<TopicEntry>,
    allow: Option<Vec<String>>,
    run: BTreeMap<String, String>,
    start_ns: Option<u64>,
    end_ns: u64,
    count: u64,
}

fn mcap_err(path: &Path, e: mcap::McapError) -> BagError {
    BagError::Mcap {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

impl BagWriter {
    /// Creates the bag directory `dir` (which must not exist yet).
    pub fn create(dir: &Path, opts: WriterOptions) -> Result<Self, BagError> {
        if dir.exists() {
            return Err(BagError::Exists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let stem = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bag".into());
        let file_name = format!("{stem}_0.mcap");
        let path = dir.join(&file_name);
        let file = File::create(&path).map_err(io_err(&path))?;
        let mut mcap = WriteOptions::new()
            .profile("ros2")
            .library(concat!("g1d ", env!("CARGO_PKG_VERSION"), " (mcap-rs)"))
            .compression(Some(Compression::Zstd))
            .compression_level(opts.compression_level)
            .chunk_size(Some(opts.chunk_size))
            .create(file)
            .map_err(|e| mcap_err(&path, e))?;
        mcap.write_metadata(&mcap::records::Metadata {
            name: RUN_METADATA.into(),
            metadata: opts.run_metadata.clone(),
        })
        .map_err(|e| mcap_err(&path, e))?;
        let w = Self {
            dir: dir.to_path_buf(),
            file_name,
            mcap: Some(mcap),
            topics: Vec::new(),
            allow: opts.allow_topics,
            run: opts.run_metadata,
            start_ns: None,
            end_ns: 0,
            count: 0,
        };
        w.write_metadata_yaml()?;
        Ok(w)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Registers `name` with type `M`; outside the allow-list it returns a topic that drops writes.
    pub fn topic<M: Message>(&mut self, name: &str, qos: Qos) -> Result<Topic<M>, BagError> {
        if let Some(allow) = &self.allow {
            if !allow.iter().any(|a| a == name) {
                return Ok(Topic {
                    index: None,
                    _m: PhantomData,
                });
            }
        }
        if let Some(i) = self.topics.iter().position(|t| t.name == name) {
            let t = &self.topics[i];
            if t.type_name.as_str() != M::TYPE_NAME {
                return Err(BagError::WrongType {
                    topic: name.into(),
                    actual: M::TYPE_NAME.into(),
                    expected: t.type_name.clone(),
                });
            }
            return Ok(Topic {
                index: Some(i),
                _m: PhantomData,
            });
        }
        let path = self.dir.join(&self.file_name);
        let mcap = self
            .mcap
            .as_mut()
            .ok_or_else(|| BagError::Finished(path.clone()))?;
        let schema = mcap
            .add_schema(M::TYPE_NAME, "ros2msg", schema_text::<M>().as_bytes())
            .map_err(|e| mcap_err(&path, e))?;
        let qos_yaml = serde_yaml::to_string(&qos.to_yaml()).unwrap_or_default();
        let mut meta = BTreeMap::new();
        meta.insert("offered_qos_profiles".to_string(), qos_yaml);
        let channel = mcap
            .add_channel(schema, name, "cdr", &meta)
            .map_err(|e| mcap_err(&path, e))?;
        self.topics.push(TopicEntry {
            name: name.into(),
            type_name: M::TYPE_NAME.to_string(),
            qos,
            channel,
            count: 0,
            sequence: 0,
        });
        Ok(Topic {
            index: Some(self.topics.len() - 1),
            _m: PhantomData,
        })
    }

    /// Records `msg` on `topic` with receive time `time_ns`.
    pub fn write<M: Message>(
        &mut self,
        topic: &Topic<M>,
        time_ns: u64,
        msg: &M,
    ) -> Result<(), BagError> {
        let Some(i) = topic.index else {
            return Ok(());
        };
        let bytes = to_cdr(msg);
        let t = &mut self.topics[i];
        t.count += 1;
        t.sequence = t.sequence.wrapping_add(1);
        let header = MessageHeader {
            channel_id: t.channel,
            sequence: t.sequence,
            log_time: time_ns,
            publish_time: time_ns,
        };
        let path = self.dir.join(&self.file_name);
        self.mcap
            .as_mut()
            .ok_or_else(|| BagError::Finished(path.clone()))?
            .write_to_known_channel(&header, &bytes)
            .map_err(|e| mcap_err(&path, e))?;
        self.start_ns = Some(self.start_ns.map_or(time_ns, |s| s.min(time_ns)));
        self.end_ns = self.end_ns.max(time_ns);
        self.count += 1;
        Ok(())
    }

    pub fn message_count(&self) -> u64 {
        self.count
    }

    fn info(&self) -> MetadataFile {
        let start = self.start_ns.unwrap_or(0);
        let duration = self.end_ns.saturating_sub(start);
        MetadataFile {
            rosbag2_bagfile_information: BagInformation {
                version: 9,
                storage_identifier: "mcap".into(),
                duration: Nanoseconds {
                    nanoseconds: duration,
                },
                starting_time: SinceEpoch {
                    nanoseconds_since_epoch: start,
                },
                message_count: self.count,
                topics_with_message_count: self
                    .topics
                    .iter()
                    .map(|t| TopicWithCount {
                        topic_metadata: TopicMetadata {
                            name: t.name.clone(),
                            type_name: t.type_name.clone(),
                            serialization_format: "cdr".into(),
                            offered_qos_profiles: t.qos.to_yaml(),
                            type_description_hash: String::new(),
                        },
                        message_count: t.count,
                    })
                    .collect(),
                compression_format: String::new(),
                compression_mode: String::new(),
                relative_file_paths: vec![self.file_name.clone()],
                files: vec![FileInformation {
                    path: self.file_name.clone(),
                    starting_time: SinceEpoch {
                        nanoseconds_since_epoch: start,
                    },
                    duration: Nanoseconds {
                        nanoseconds: duration,
                    },
                    message_count: self.count,
                }],
                custom_data: (!self.run.is_empty()).then(|| self.run.clone()),
                ros_distro: Some("jazzy".into()),
            },
        }
    }

    fn write_metadata_yaml(&self) -> Result<(), BagError> {
        write_metadata_file(&self.dir, &self.info())
    }

    /// Writes the summary, the footer and the final `metadata.yaml`.
    pub fn finish(mut self) -> Result<PathBuf, BagError> {
        self.close()?;
        Ok(self.dir.clone())
    }

    fn close(&mut self) -> Result<(), BagError> {
        if let Some(mut mcap) = self.mcap.take() {
            let path = self.dir.join(&self.file_name);
            let info = self.info();
            let serialized =
                serde_yaml::to_string(&info.rosbag2_bagfile_information).map_err(|e| {
                    BagError::BadMetadata {
                        path: path.clone(),
                        msg: e.to_string(),
                    }
                })?;
            let mut m = BTreeMap::new();
            m.insert("serialized_metadata".to_string(), serialized);
            mcap.write_metadata(&mcap::records::Metadata {
                name: "rosbag2".into(),
                metadata: m,
            })
            .map_err(|e| mcap_err(&path, e))?;
            mcap.finish().map_err(|e| mcap_err(&path, e))?;
            let mut file = mcap.into_inner();
            file.flush().map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
            self.write_metadata_yaml()?;
        }
        Ok(())
    }
}

impl Drop for BagWriter {
    /// A writer dropped without `finish` (an early return, a panic) still closes the bag.
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn write_metadata_file(dir: &Path, info: &MetadataFile) -> Result<(), BagError> {
    let path = dir.join("metadata.yaml");
    let text = serde_yaml::to_string(info).map_err(|e| BagError::BadMetadata {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    let tmp = dir.join(".metadata.yaml.tmp");
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// One message read from a bag.
pub struct BagMessage<'a> {
    pub topic: &'a str,
    pub type_name: &'a str,
    pub log_time_ns: u64,
    pub data: &'a [u8],
}

impl BagMessage<'_> {
    /// Decodes the payload as `M`, checking the recorded type name.
    pub fn decode<M: Message>(&self) -> Result<M, BagError> {
        if self.type_name != M::TYPE_NAME {
            return Err(BagError::WrongType {
                topic: self.topic.into(),
                actual: self.type_name.into(),
                expected: M::TYPE_NAME.into(),
            });
        }
        g1_msgs::from_cdr(self.data).map_err(|source| BagError::Decode {
            topic: self.topic.into(),
            type_name: self.type_name.into(),
            time_ns: self.log_time_ns,
            source,
        })
    }
}

/// What a full read of a bag found.
#[derive(Debug, Clone, Default)]
pub struct ReadReport {
    pub messages: u64,
    /// False when the file ends before its data-end record (a recording that was killed).
    pub complete: bool,
    /// Why reading stopped early, when it did.
    pub truncation: Option<String>,
    /// MCAP metadata records by name (`g1d_run`, `rosbag2`).
    pub metadata: BTreeMap<String, BTreeMap<String, String>>,
    /// Per topic: (type, message count, first and last log time).
    pub topics: BTreeMap<String, TopicStats>,
    pub chunks: u64,
    /// Chunks that failed their checks (CRC, decompression, record framing), each with where
    /// and why; only when salvaging (`repair`): a plain read fails on the first.
    pub dropped_chunks: Vec<String>,
}

/// What [`RecordWalker`] found next.
enum WalkItem {
    Record(mcap::records::Record<'static>),
    /// Every record of one chunk, handed out only after the whole chunk passed its checks.
    Chunk(Vec<mcap::records::Record<'static>>),
    BadChunk(String),
    Truncated(String),
    Corrupt(String),
    End,
}

/// The largest chunk this reader decompresses (1 GiB): a damaged or hostile header cannot
/// make it allocate more.
const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// Walks an MCAP file's top-level records with every length checked against the bytes there
/// are; each chunk is decompressed and its CRC checked before any of its records is handed out.
struct RecordWalker<'a> {
    bytes: &'a [u8],
    pos: usize,
    chunk: u64,
    done: bool,
}

impl<'a> RecordWalker<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, String> {
        if bytes.len() < 8 || &bytes[..8] != mcap::MAGIC {
            return Err("not an MCAP file (no magic)".into());
        }
        Ok(Self {
            bytes,
            pos: 8,
            chunk: 0,
            done: false,
        })
    }

    fn next_item(&mut self) -> WalkItem {
        use mcap::records::Record;
        if self.done || self.pos >= self.bytes.len() {
            return WalkItem::End;
        }
        let Some((op, body, next)) = frame(self.bytes, self.pos) else {
            self.done = true;
            return WalkItem::Truncated(format!(
                "the record at byte {} runs past the end of the file",
                self.pos
            ));
        };
        let at = self.pos;
        self.pos = next;
        match mcap::read::parse_record(op, body) {
            Ok(Record::Chunk { header, data }) => {
                self.chunk += 1;
                match decode_chunk(&header, &data) {
                    Ok(records) => WalkItem::Chunk(records),
                    Err(why) => WalkItem::BadChunk(format!(
                        "chunk {} (byte {at}, {} bytes, log time {}–{} ns): {why}",
                        self.chunk,
                        body.len(),
                        header.message_start_time,
                        header.message_end_time
                    )),
                }
            }
            Ok(Record::Footer(_)) => {
                self.done = true;
                WalkItem::End
            }
            Ok(r) => WalkItem::Record(r.into_owned()),
            Err(e) => {
                self.done = true;
                WalkItem::Corrupt(format!("record at byte {at}: {e}"))
            }
        }
    }
}

/// The record at `pos`: opcode, body, and where the next one starts; None when its length
/// runs past the end.
fn frame(bytes: &[u8], pos: usize) -> Option<(u8, &[u8], usize)> {
    let head = bytes.get(pos..pos.checked_add(9)?)?;
    let len = u64::from_le_bytes(head[1..9].try_into().ok()?);
    let start = pos + 9;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some((head[0], bytes.get(start..end)?, end))
}

/// A chunk's records after its checks: a plausible size, decompression, the uncompressed
/// CRC, and records that fit.
fn decode_chunk(
    h: &mcap::records::ChunkHeader,
    data: &[u8],
) -> Result<Vec<mcap::records::Record<'static>>, String> {
    let size = h.uncompressed_size;
    if size > MAX_CHUNK_BYTES || size > 4096 * data.len() as u64 + (1 << 20) {
        return Err(format!(
            "implausible uncompressed size {size} for {} compressed bytes",
            data.len()
        ));
    }
    let raw: std::borrow::Cow<[u8]> = match h.compression.as_str() {
        "" => std::borrow::Cow::Borrowed(data),
        "zstd" => std::borrow::Cow::Owned(
            zstd::bulk::decompress(data, size as usize).map_err(|e| format!("zstd: {e}"))?,
        ),
        other => {
            return Err(format!(
                "compression `{other}` is not supported (zstd or none)"
            ))
        }
    };
    if raw.len() as u64 != size {
        return Err(format!(
            "{} bytes after decompression, the header says {size}",
            raw.len()
        ));
    }
    if h.uncompressed_crc != 0 {
        let crc = crc32fast::hash(&raw);
        if crc != h.uncompressed_crc {
            return Err(format!(
                "CRC {crc:08X}, the header says {:08X} (damaged data)",
                h.uncompressed_crc
            ));
        }
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let (op, body, next) = frame(&raw, pos)
            .ok_or_else(|| format!("a record at byte {pos} of the chunk runs past its end"))?;
        let r = mcap::read::parse_record(op, body)
            .map_err(|e| format!("record at byte {pos} of the chunk: {e}"))?;
        out.push(r.into_owned());
        pos = next;
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct TopicStats {
    pub type_name: String,
    pub count: u64,
    pub first_ns: u64,
    pub last_ns: u64,
}

/// An opened bag (directory with `metadata.yaml`, or a bare `.mcap` file).
pub struct Bag {
    pub path: PathBuf,
    pub mcap_path: PathBuf,
    pub metadata: Option<MetadataFile>,
    bytes: Vec<u8>,
}

impl Bag {
    pub fn open(path: &Path) -> Result<Self, BagError> {
        let (mcap_path, metadata) = if path.is_dir() {
            let meta_path = path.join("metadata.yaml");
            let metadata: Option<MetadataFile> = if meta_path.exists() {
                let text = std::fs::read_to_string(&meta_path).map_err(io_err(&meta_path))?;
                Some(
                    serde_yaml::from_str(&text).map_err(|e| BagError::BadMetadata {
                        path: meta_path.clone(),
                        msg: e.to_string(),
                    })?,
                )
            } else {
                None
            };
            let from_meta = metadata
                .as_ref()
                .and_then(|m| m.rosbag2_bagfile_information.relative_file_paths.first())
                .map(|f| path.join(f));
            let file = match from_meta {
                Some(f) => f,
                None => find_mcap(path)?,
            };
            (file, metadata)
        } else if path.is_file() {
            (path.to_path_buf(), None)
        } else {
            return Err(BagError::NotABag {
                path: path.to_path_buf(),
            });
        };
        if metadata
            .as_ref()
            .is_some_and(|m| m.rosbag2_bagfile_information.storage_identifier != "mcap")
        {
            return Err(BagError::BadMetadata {
                path: path.join("metadata.yaml"),
                msg: "only MCAP storage is supported (storage_identifier is not mcap)".into(),
            });
        }
        let bytes = std::fs::read(&mcap_path).map_err(io_err(&mcap_path))?;
        Ok(Self {
            path: path.to_path_buf(),
            mcap_path,
            metadata,
            bytes,
        })
    }

    pub fn size_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Reads every message in file order, calling `f` for each. A file cut short (killed
    /// recording) yields everything up to its last complete chunk and `complete == false`;
    /// corrupted data (bad CRC, undecodable chunk) is an error.
    pub fn read<E>(
        &self,
        mut f: impl FnMut(&BagMessage<'_>) -> Result<(), E>,
    ) -> Result<Result<ReadReport, E>, BagError> {
        self.scan(|m| f(m), false)
    }

    /// Like [`Bag::read`]; with `salvage`, a chunk that fails its checks is dropped (listed in
    /// [`ReadReport::dropped_chunks`]) and reading goes on with the next one, and other damage
    /// ends reading quietly (what `repair` salvages).
    fn scan<E>(
        &self,
        mut f: impl FnMut(&BagMessage<'_>) -> Result<(), E>,
        salvage: bool,
    ) -> Result<Result<ReadReport, E>, BagError> {
        use mcap::records::Record;
        let mut report = ReadReport::default();
        // schema id -> name; channel id -> (topic, type)
        // Channels as they come; for a message on a channel not yet seen (its definition was
        // in a damaged chunk), from the whole file once (the summary section repeats them).
        let mut schemas: BTreeMap<u16, String> = BTreeMap::new();
        let mut channels: BTreeMap<u16, (String, String)> = BTreeMap::new();
        let mut whole_file_read = false;
        let mut saw_data_end = false;
        let corrupt = |messages: u64, msg: String| BagError::Corrupt {
            path: self.mcap_path.clone(),
            messages,
            msg,
        };
        let mut walker = RecordWalker::new(&self.bytes).map_err(|m| corrupt(0, m))?;
        loop {
            let records = match walker.next_item() {
                WalkItem::End => break,
                WalkItem::Truncated(why) => {
                    report.truncation = Some(why);
                    break;
                }
                WalkItem::Corrupt(why) => {
                    if salvage {
                        report.truncation = Some(why);
                        break;
                    }
                    return Err(corrupt(report.messages, why));
                }
                WalkItem::BadChunk(why) => {
                    report.chunks += 1;
                    if salvage {
                        report.dropped_chunks.push(why);
                        continue;
                    }
                    return Err(corrupt(report.messages, why));
                }
                WalkItem::Chunk(records) => {
                    report.chunks += 1;
                    records
                }
                WalkItem::Record(r) => vec![r],
            };
            for rec in records {
                match rec {
                    Record::Schema { header, .. } => {
                        schemas.insert(header.id, header.name);
                    }
                    Record::Channel(c) => {
                        let ty = schemas.get(&c.schema_id).cloned().unwrap_or_default();
                        channels.insert(c.id, (c.topic, ty));
                    }
                    Record::Metadata(m) => {
                        report.metadata.insert(m.name, m.metadata);
                    }
                    Record::Message { header, data } => {
                        if !channels.contains_key(&header.channel_id) && !whole_file_read {
                            whole_file_read = true;
                            let (_, all) = self.channel_table();
                            for (id, c) in all {
                                channels.entry(id).or_insert(c);
                            }
                        }
                        let Some((topic, ty)) = channels.get(&header.channel_id) else {
                            let why = format!("message on unknown channel {}", header.channel_id);
                            if salvage {
                                report.truncation = Some(why);
                                break;
                            }
                            return Err(corrupt(report.messages, why));
                        };
                        let m = BagMessage {
                            topic,
                            type_name: ty,
                            log_time_ns: header.log_time,
                            data: &data,
                        };
                        if let Err(e) = f(&m) {
                            return Ok(Err(e));
                        }
                        report.messages += 1;
                        let s = report.topics.entry(topic.clone()).or_insert(TopicStats {
                            type_name: ty.clone(),
                            first_ns: header.log_time,
                            ..Default::default()
                        });
                        s.count += 1;
                        s.first_ns = s.first_ns.min(header.log_time);
                        s.last_ns = s.last_ns.max(header.log_time);
                    }
                    Record::DataEnd(_) => saw_data_end = true,
                    _ => {}
                }
            }
            if saw_data_end || report.truncation.is_some() {
                break;
            }
        }
        report.complete =
            saw_data_end && report.truncation.is_none() && report.dropped_chunks.is_empty();
        if !saw_data_end && report.truncation.is_none() {
            report.truncation = Some("file ends without a data-end record".into());
        }
        Ok(Ok(report))
    }

    /// Schema names by id and (topic, type) by channel id from every readable record of the
    /// file: the data section's good chunks and the summary section.
    #[allow(clippy::type_complexity)]
    fn channel_table(&self) -> (BTreeMap<u16, String>, BTreeMap<u16, (String, String)>) {
        use mcap::records::Record;
        let (mut schemas, mut channels) = (BTreeMap::new(), BTreeMap::new());
        let Ok(mut walker) = RecordWalker::new(&self.bytes) else {
            return (schemas, channels);
        };
        loop {
            let records = match walker.next_item() {
                WalkItem::Record(r) => vec![r],
                WalkItem::Chunk(rs) => rs,
                WalkItem::BadChunk(_) => continue,
                _ => break,
            };
            for rec in records {
                match rec {
                    Record::Schema { header, .. } => {
                        schemas.insert(header.id, header.name);
                    }
                    Record::Channel(c) => {
                        let ty: String = schemas.get(&c.schema_id).cloned().unwrap_or_default();
                        channels.insert(c.id, (c.topic, ty));
                    }
                    _ => {}
                }
            }
        }
        (schemas, channels)
    }

    /// Schema text and type of every channel, for rewriting (from the chunks that pass their
    /// checks).
    fn schemas(&self) -> BTreeMap<String, (String, String, BTreeMap<String, String>)> {
        use mcap::records::Record;
        let mut out = BTreeMap::new();
        let mut schemas: BTreeMap<u16, (String, String)> = BTreeMap::new();
        let Ok(mut walker) = RecordWalker::new(&self.bytes) else {
            return out;
        };
        loop {
            let records = match walker.next_item() {
                WalkItem::Record(r) => vec![r],
                WalkItem::Chunk(rs) => rs,
                WalkItem::BadChunk(_) => continue,
                _ => break,
            };
            for rec in records {
                match rec {
                    Record::Schema { header, data } => {
                        schemas.insert(
                            header.id,
                            (header.name, String::from_utf8_lossy(&data).into_owned()),
                        );
                    }
                    Record::Channel(c) => {
                        if let Some((name, text)) = schemas.get(&c.schema_id) {
                            out.insert(c.topic, (name.clone(), text.clone(), c.metadata));
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn find_mcap(dir: &Path) -> Result<PathBuf, BagError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mcap"))
        .collect();
    files.sort();
    files.into_iter().next().ok_or(BagError::NotABag {
        path: dir.to_path_buf(),
    })
}

/// `g1d bag info`: what the MCAP file really holds (not just what metadata.yaml claims).
pub struct BagInfo {
    pub bag: PathBuf,
    pub file: PathBuf,
    pub size_bytes: u64,
    pub report: ReadReport,
    /// Differences between metadata.yaml and the file's content.
    pub metadata_mismatch: Vec<String>,
}

pub fn info(path: &Path) -> Result<BagInfo, BagError> {
    let bag = Bag::open(path)?;
    let report = bag.read(|_| Ok::<(), ()>(()))?.unwrap_or_default();
    let mut mismatch = Vec::new();
    match &bag.metadata {
        None if path.is_dir() => mismatch.push("metadata.yaml is missing".to_string()),
        None => {}
        Some(m) => {
            let i = &m.rosbag2_bagfile_information;
            if i.message_count != report.messages {
                mismatch.push(format!(
                    "metadata.yaml counts {} messages, the file holds {}",
                    i.message_count, report.messages
                ));
            }
        }
    }
    Ok(BagInfo {
        bag: path.to_path_buf(),
        file: bag.mcap_path.clone(),
        size_bytes: bag.size_bytes(),
        report,
        metadata_mismatch: mismatch,
    })
}

impl std::fmt::Display for BagInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.report;
        let start = r.topics.values().map(|t| t.first_ns).min().unwrap_or(0);
        let end = r.topics.values().map(|t| t.last_ns).max().unwrap_or(0);
        writeln!(f, "Files:             {}", self.file.display())?;
        writeln!(
            f,
            "Bag size:          {:.1} MiB",
            self.size_bytes as f64 / 1048576.0
        )?;
        writeln!(f, "Storage id:        mcap")?;
        writeln!(
            f,
            "Duration:          {:.9}s",
            end.saturating_sub(start) as f64 * 1e-9
        )?;
        writeln!(f, "Start:             {:.9} s", start as f64 * 1e-9)?;
        writeln!(f, "End:               {:.9} s", end as f64 * 1e-9)?;
        writeln!(f, "Messages:          {}", r.messages)?;
        writeln!(f, "Chunks:            {}", r.chunks)?;
        writeln!(
            f,
            "Closed cleanly:    {}",
            if r.complete { "yes" } else { "NO" }
        )?;
        if let Some(t) = &r.truncation {
            writeln!(f, "  reading stopped: {t} (run `g1d bag repair`)")?;
        }
        for m in &self.metadata_mismatch {
            writeln!(f, "  metadata.yaml:   {m} (run `g1d bag repair`)")?;
        }
        let mut first = true;
        for (name, t) in &r.topics {
            writeln!(
                f,
                "{}Topic: {name} | Type: {} | Count: {} | Serialization Format: cdr",
                if first {
                    "Topic information: "
                } else {
                    "                   "
                },
                t.type_name,
                t.count
            )?;
            first = false;
        }
        if let Some(run) = r.metadata.get(RUN_METADATA) {
            writeln!(f, "Run metadata:")?;
            for (k, v) in run {
                let line = v.lines().next().unwrap_or("");
                let more = if v.lines().count() > 1 { " …" } else { "" };
                writeln!(f, "  {k}: {line}{more}")?;
            }
        }
        Ok(())
    }
}

/// What `repair` did.
#[derive(Debug)]
pub struct RepairReport {
    pub messages_kept: u64,
    pub was_complete: bool,
    pub dropped_tail: Option<String>,
    /// Damaged chunks left out (their messages are lost), each with where and why.
    pub dropped_chunks: Vec<String>,
    pub rewritten: bool,
}

/// `g1d bag repair`: rewrites a bag whose recording was cut short (or whose metadata.yaml is
/// missing or stale) into a complete one — every message of every readable chunk, summary and
/// footer, a fresh metadata.yaml. Like `ros2 bag reindex`, plus recovery of cut MCAP files.
/// A chunk that fails its checks (CRC, decompression, framing) is left out whole — none of its
/// messages is kept — and named in [`RepairReport::dropped_chunks`]. A damaged original is
/// kept beside it as `<file>.damaged`.
pub fn repair(path: &Path) -> Result<RepairReport, BagError> {
    let bag = Bag::open(path)?;
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    };
    let schemas = bag.schemas();
    // First pass: is it complete?
    let probe = bag.scan(|_| Ok::<(), ()>(()), true)?.unwrap_or_default();
    let stale = match &bag.metadata {
        Some(m) => m.rosbag2_bagfile_information.message_count != probe.messages,
        None => true,
    };
    if probe.complete && !stale {
        return Ok(RepairReport {
            messages_kept: probe.messages,
            was_complete: true,
            dropped_tail: None,
            dropped_chunks: vec![],
            rewritten: false,
        });
    }
    let run = probe
        .metadata
        .get(RUN_METADATA)
        .cloned()
        .unwrap_or_default();
    let tmp_dir = dir.with_file_name(format!(
        ".{}.repair",
        dir.file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default()
    ));
    if tmp_dir.exists() {
        std::fs::remove_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
    }
    let mut w = BagWriter::create(
        &tmp_dir,
        WriterOptions {
            run_metadata: run,
            ..Default::default()
        },
    )?;
    let mut channels: BTreeMap<String, u16> = BTreeMap::new();
    let path_tmp = tmp_dir.join(&w.file_name);
    let mut kept = 0u64;
    let res = bag.scan(
        |m| -> Result<(), BagError> {
            let ch = match channels.get(m.topic) {
                Some(c) => *c,
                None => {
                    let (name, text, meta) = schemas.get(m.topic).cloned().unwrap_or_else(|| {
                        (m.type_name.to_string(), String::new(), BTreeMap::new())
                    });
                    let mcap = w
                        .mcap
                        .as_mut()
                        .ok_or_else(|| BagError::Finished(path_tmp.clone()))?;
                    let sid = mcap
                        .add_schema(&name, "ros2msg", text.as_bytes())
                        .map_err(|e| mcap_err(&path_tmp, e))?;
                    let c = mcap
                        .add_channel(sid, m.topic, "cdr", &meta)
                        .map_err(|e| mcap_err(&path_tmp, e))?;
                    channels.insert(m.topic.to_string(), c);
                    let qos = meta
                        .get("offered_qos_profiles")
                        .filter(|q| q.contains("best_effort"))
                        .map_or(Qos::Reliable, |_| Qos::SensorData);
                    w.topics.push(TopicEntry {
                        name: m.topic.into(),
                        type_name: m.type_name.to_string(),
                        qos,
                        channel: c,
                        count: 0,
                        sequence: 0,
                    });
                    c
                }
            };
            let idx = w.topics.iter().position(|t| t.channel == ch).unwrap_or(0);
            w.topics[idx].count += 1;
            w.topics[idx].sequence += 1;
            let header = MessageHeader {
                channel_id: ch,
                sequence: w.topics[idx].sequence,
                log_time: m.log_time_ns,
                publish_time: m.log_time_ns,
            };
            w.mcap
                .as_mut()
                .ok_or_else(|| BagError::Finished(path_tmp.clone()))?
                .write_to_known_channel(&header, m.data)
                .map_err(|e| mcap_err(&path_tmp, e))?;
            w.start_ns = Some(w.start_ns.map_or(m.log_time_ns, |s| s.min(m.log_time_ns)));
            w.end_ns = w.end_ns.max(m.log_time_ns);
            w.count += 1;
            kept += 1;
            Ok(())
        },
        true,
    )?;
    let report = res?;
    // Keep the original file name inside the bag directory.
    w.file_name.clone_from(
        &bag.mcap_path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let new_name = w.file_name.clone();
    let written_as = tmp_dir.join(
        tmp_dir
            .file_name()
            .map(|s| format!("{}_0.mcap", s.to_string_lossy()))
            .unwrap_or_default(),
    );
    w.close()?;
    drop(w);
    let damaged = report.truncation.is_some() || !report.dropped_chunks.is_empty();
    if damaged {
        let keep = dir.join(format!("{new_name}.damaged"));
        std::fs::rename(&bag.mcap_path, &keep).map_err(io_err(&keep))?;
    }
    let target = dir.join(&new_name);
    std::fs::rename(&written_as, &target).map_err(io_err(&target))?;
    if path.is_dir() {
        std::fs::rename(tmp_dir.join("metadata.yaml"), dir.join("metadata.yaml"))
            .map_err(io_err(&dir))?;
    }
    std::fs::remove_dir_all(&tmp_dir).map_err(io_err(&tmp_dir))?;
    Ok(RepairReport {
        messages_kept: kept,
        was_complete: probe.complete,
        dropped_tail: report.truncation,
        dropped_chunks: report.dropped_chunks,
        rewritten: true,
    })
}
