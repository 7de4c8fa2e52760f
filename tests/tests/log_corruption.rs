//! A real episode log (written by `clea sim --log-dir`), cut and damaged byte by byte, read back
//! by `clea_bus::record::read_log` (what `clea replay`, `diff` and `rerun` use):
//! - no input panics, and no read allocates more than a small multiple of the file's size (this
//!   binary counts its allocations);
//! - a cut file gives a prefix of the episode's messages, never an altered one;
//! - a flipped byte gives an error that says "damaged" (with a byte offset), or, where the byte
//!   carries nothing (the end magic), the intact messages; never a damaged message;
//! - a message record whose length is near `u64::MAX`, inside a chunk whose CRC was recomputed,
//!   is damage, and `clea diff` says so in one line with exit 2.

use clea_bus::record::{read_log, LoggedMessage};
use clea_tests::e2e::{derived_scenario, run_clea, single_episode};
use clea_tests::unique_namespace;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Counts live heap bytes and their peak, so a read's memory can be bounded.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// What one read gave: the messages, or the error's text; and the peak heap it took, bytes.
struct Read {
    result: Result<(Vec<LoggedMessage>, bool), String>,
    peak: usize,
}

fn read(path: &Path) -> Read {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let outcome = std::panic::catch_unwind(|| read_log(path));
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let result = match outcome {
        Err(_) => panic!("read_log panicked on {}", path.display()),
        Ok(Ok(log)) => Ok((log.messages, log.truncated)),
        Ok(Err(e)) => Err(e.to_string()),
    };
    Read { result, peak }
}

/// Top-level records of an MCAP file: (offset, opcode, total length with opcode and length).
fn records(bytes: &[u8]) -> Vec<(usize, u8, usize)> {
    let mut at = 8;
    let mut out = Vec::new();
    while at + 9 <= bytes.len() - 8 {
        let len = u64::from_le_bytes(bytes[at + 1..at + 9].try_into().unwrap()) as usize;
        out.push((at, bytes[at], 9 + len));
        at += 9 + len;
    }
    out
}

const CHUNK: u8 = 0x06;
const DATA_END: u8 = 0x0F;

/// A tiny deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn same(a: &[LoggedMessage], b: &[LoggedMessage]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.topic == y.topic && x.log_time == y.log_time && x.data == y.data)
}

#[test]
fn cut_and_damaged_logs_give_prefixes_or_damage_never_a_panic_or_an_altered_message() {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // Slow skills make the episode span several one-second chunks.
    let scenario = derived_scenario(
        dir.path(),
        "task-08-find-roast-apple",
        "corruption",
        "skill_duration_s: 0.3",
    );
    let logs = dir.path().join("logs");
    let ns = unique_namespace("corrupt");
    let f = run_clea(
        [
            "sim",
            scenario.to_str().unwrap(),
            "--json",
            "--log-dir",
            logs.to_str().unwrap(),
            "--namespace",
            &ns,
        ],
        Duration::from_secs(90),
    );
    assert_eq!(single_episode(&f.json())["success"], true);
    eprintln!("clea sim took {:?}", t0.elapsed());
    let file = logs.join("corruption-seed0.mcap");
    let bytes = std::fs::read(&file).unwrap();
    let original = match read(&file).result {
        Ok((m, truncated)) => {
            assert!(!truncated, "the intact log reads as cut");
            m
        }
        Err(e) => panic!("the intact log does not read: {e}"),
    };
    assert!(!original.is_empty());
    let recs = records(&bytes);
    let chunks: Vec<_> = recs.iter().filter(|r| r.1 == CHUNK).collect();
    assert!(chunks.len() >= 2, "one chunk only: lengthen the episode");
    let data_end = recs.iter().find(|r| r.1 == DATA_END).expect("DataEnd").0;
    eprintln!(
        "log: {} bytes, {} messages, {} chunks",
        bytes.len(),
        original.len(),
        chunks.len()
    );
    // Bound: the file, its copy in the reader, the messages (no larger than the file) and slack.
    let memory_bound = 8 * bytes.len() + (4 << 20);
    let work = dir.path().join("work.mcap");
    let mut rng = Rng(0x5EED_C1EA);

    // Cuts: around every chunk's edges and at seeded offsets; the messages are a prefix that
    // grows with the cut, and a cut after the data section loses nothing.
    let mut cuts: Vec<usize> = chunks
        .iter()
        .flat_map(|(at, _, len)| [*at, at + 1, at + 9, at + len - 1, at + len, at + len + 1])
        .chain((0..200).map(|_| 8 + rng.below(bytes.len() - 9)))
        .chain([data_end, data_end + 13])
        .filter(|c| *c < bytes.len())
        .collect();
    cuts.sort_unstable();
    let mut got_before = 0;
    for cut in cuts {
        std::fs::write(&work, &bytes[..cut]).unwrap();
        let r = read(&work);
        assert!(r.peak <= memory_bound, "cut at {cut}: {} bytes", r.peak);
        let (messages, truncated) = r
            .result
            .unwrap_or_else(|e| panic!("a cut at {cut} is an error, not a prefix: {e}"));
        assert!(truncated, "a cut at {cut} is not reported as cut");
        assert!(
            same(&messages, &original[..messages.len().min(original.len())]),
            "a cut at {cut} altered a message"
        );
        assert!(
            messages.len() >= got_before,
            "a longer cut ({cut}) gave fewer messages"
        );
        got_before = messages.len();
        if cut >= data_end + 13 {
            assert_eq!(
                messages.len(),
                original.len(),
                "cut at {cut} after the data"
            );
        }
    }

    // Flips: any byte, any bit pattern. Damage is reported as damage; an accepted file has
    // every message intact.
    let (mut damaged, mut accepted) = (0, 0);
    for _ in 0..400 {
        let at = rng.below(bytes.len());
        let mask = (rng.below(255) + 1) as u8;
        let mut copy = bytes.clone();
        copy[at] ^= mask;
        std::fs::write(&work, &copy).unwrap();
        let r = read(&work);
        assert!(r.peak <= memory_bound, "flip at {at}: {} bytes", r.peak);
        let in_chunk = chunks.iter().any(|(c, _, len)| (*c..c + len).contains(&at));
        match r.result {
            Err(e) => {
                assert!(
                    e.contains("damaged") || (at < 8 && e.contains("not an MCAP file")),
                    "flip at {at}: {e}"
                );
                damaged += 1;
            }
            Ok((messages, _)) => {
                assert!(
                    !in_chunk,
                    "a flip inside a chunk (byte {at}) was not noticed"
                );
                assert!(
                    same(&messages, &original),
                    "a flip at {at} was accepted with altered or missing messages"
                );
                accepted += 1;
            }
        }
    }
    eprintln!("flips: {damaged} reported as damage, {accepted} harmless");
    assert!(damaged > 0);

    // Bytes after the end magic (garbage, or a second log) and a damaged end magic are damage,
    // not a cut.
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(b"trailing garbage");
    let mut two = bytes.clone();
    two.extend_from_slice(&bytes);
    let mut magic = bytes.clone();
    let n = magic.len();
    magic[n - 3] ^= 0x20;
    for (what, data) in [
        ("garbage", garbage),
        ("two logs", two),
        ("end magic", magic),
    ] {
        std::fs::write(&work, &data).unwrap();
        let e = read(&work).result.expect_err(&format!("{what} is damage"));
        assert!(e.contains("damaged"), "{what}: {e}");
    }

    // A message record inside the first chunk claims a length near u64::MAX; the chunk's CRC
    // is recomputed so only the length is wrong.
    let (at, _, _) = *chunks[0];
    let mut copy = bytes.clone();
    let body = at + 9;
    let compression_len =
        u32::from_le_bytes(copy[body + 28..body + 32].try_into().unwrap()) as usize;
    let records_at = body + 32 + compression_len + 8;
    let records_len =
        u64::from_le_bytes(copy[records_at - 8..records_at].try_into().unwrap()) as usize;
    copy[records_at + 1..records_at + 9].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
    let crc = crc32fast::hash(&copy[records_at..records_at + records_len]);
    copy[body + 24..body + 28].copy_from_slice(&crc.to_le_bytes());
    let huge = dir.path().join("huge-length.mcap");
    std::fs::write(&huge, &copy).unwrap();
    let r = read(&huge);
    assert!(r.peak <= memory_bound, "{} bytes", r.peak);
    let e = r
        .result
        .expect_err("a record longer than the file is damage");
    assert!(e.contains("damaged"), "{e}");
    let cli = run_clea(
        ["diff", huge.to_str().unwrap(), file.to_str().unwrap()],
        Duration::from_secs(30),
    );
    cli.assert_no_panic();
    assert_eq!(cli.code(), Some(2), "{}", cli.describe());
    let line = cli.stderr.trim();
    assert!(
        !line.contains('\n') && line.contains("damaged"),
        "one line naming the damage: {}",
        cli.describe()
    );
}
