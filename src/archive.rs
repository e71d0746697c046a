//! The archive stream: tar → zstd → age, and its reader.
//!
//! Writing is one pass over the source files. The calling thread walks the
//! files, hashes each one as it is read and frames it as tar; zstd compresses
//! in its own worker threads; a second thread of ours encrypts with age and
//! writes the ciphertext, so reading, compressing and encrypting overlap. The
//! per-file hashes go to `MANIFEST.sha256`, spooled to an anonymous temporary
//! file (memory stays flat whatever the file count) and appended as the last
//! entry. Nothing is held in memory beyond a few 1 MiB buffers.
//!
//! A file that changes while it is read (its size or modification time differs
//! after reading, or it ends early) makes [`write_archive`] return
//! [`WriteError::SourceChanged`]: the caller discards the whole output and
//! starts the archive again, so a torn file is never stored.
//!
//! Reading ([`check_archive`]) distrusts the archive: every entry must be a
//! regular file or directory with a safe relative path, every file must match
//! the manifest, nothing may be missing or extra, and the age and zstd streams
//! are read to their very end so their authentication tags and checksums count.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::SystemTime;

use crate::error::{Action, Error};
use crate::progress::Progress;
use crate::sums::{self, HashingReader, Sha256Digest};

/// The manifest at the root of every archive.
pub const MANIFEST_NAME: &str = "MANIFEST.sha256";

/// Size of the chunks handed between threads and of file reads.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the compressor and the encrypting thread.
const CHANNEL_DEPTH: usize = 4;
/// Bytes of input per zstd worker job.
const JOB_SIZE: u32 = 2 << 20;

/// Compression settings of one archive.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveSettings {
    /// zstd level.
    pub level: i32,
    /// zstd worker threads; 0 = one per core.
    pub threads: u32,
    /// Modification time given to the manifest entry.
    pub manifest_mtime: u64,
}

/// What went into an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveStats {
    /// Regular files stored (the manifest not counted).
    pub files: u64,
    /// Directories stored.
    pub dirs: u64,
    /// Bytes of file contents stored.
    pub plaintext_bytes: u64,
    /// Bytes of the tar stream before compression.
    pub tar_bytes: u64,
    /// Special files (sockets, FIFOs, devices) that were left out.
    pub skipped: Vec<PathBuf>,
}

/// Why an archive could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// A source file changed while it was read; start again.
    SourceChanged(PathBuf),
    /// Anything else; final.
    Failed(Error),
}

impl From<Error> for WriteError {
    fn from(e: Error) -> Self {
        WriteError::Failed(e)
    }
}

/// The number of zstd workers for a `threads` setting.
pub fn worker_threads(threads: u32) -> u32 {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
}

/// Total bytes of regular files under the given paths (for progress and space
/// estimates). Unreadable entries are ignored here; the real pass reports them.
pub fn measure(paths: &[PathBuf]) -> u64 {
    paths
        .iter()
        .flat_map(|p| walkdir::WalkDir::new(p).follow_links(true))
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Writes one archive of `paths` (files or directories; each is stored under
/// its base name), encrypted to `recipients`, into `out`, and returns `out`.
pub fn write_archive<W: Write + Send>(
    paths: &[PathBuf],
    recipients: &[age::x25519::Recipient],
    settings: ArchiveSettings,
    out: W,
    progress: &dyn Progress,
) -> Result<(ArchiveStats, W), WriteError> {
    let (mut stats, tar_bytes, out) = write_encrypted_tar(
        recipients,
        settings.level,
        settings.threads,
        out,
        |builder| {
            let spool = tempfile::tempfile()
                .map_err(|e| Error::io(Action::Create, "temporary manifest", e))?;
            let mut manifest = BufWriter::new(spool);
            let mut stats = ArchiveStats::default();
            for root in paths {
                add_root(
                    builder,
                    root,
                    b"",
                    &mut |name, digest, _| {
                        manifest
                            .write_all(&sums::format_line(digest, name))
                            .map_err(|e| Error::io(Action::Write, "temporary manifest", e))
                    },
                    &mut stats,
                    progress,
                )?;
            }
            let mut spool = manifest
                .into_inner()
                .map_err(|e| Error::io(Action::Write, "temporary manifest", e.into_error()))?;
            let len = spool
                .seek(SeekFrom::End(0))
                .and_then(|len| spool.seek(SeekFrom::Start(0)).map(|_| len))
                .map_err(|e| Error::io(Action::Read, "temporary manifest", e))?;
            let mut header = file_header(len, 0o644, settings.manifest_mtime);
            builder
                .append_data(&mut header, MANIFEST_NAME, BufReader::new(spool))
                .map_err(output_failed)?;
            Ok(stats)
        },
    )?;
    stats.tar_bytes = tar_bytes;
    Ok((stats, out))
}

/// Writes one tar stream, compressed with zstd (one frame, content checksum
/// on) and encrypted with age to `recipients`, into `out`. `body` appends the
/// entries on the calling thread; compression runs in zstd's workers and
/// encryption in a thread of its own. Returns what `body` returned, the size
/// of the tar stream, and `out`. Both `kura backup` and `kura handover` write
/// through here, so their outer layers are the same.
pub fn write_encrypted_tar<W: Write + Send, T>(
    recipients: &[age::x25519::Recipient],
    level: i32,
    threads: u32,
    out: W,
    body: impl FnOnce(&mut tar::Builder<TarStream>) -> Result<T, WriteError>,
) -> Result<(T, u64, W), WriteError> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::Usage(format!("cannot encrypt to the recipients: {e}")))?;
    let (tx, rx) = sync_channel::<Message>(CHANNEL_DEPTH);

    let result = std::thread::scope(|scope| {
        let encrypting = scope.spawn(move || encrypt_chunks(encryptor, rx, out));
        let framed = frame_and_compress(level, threads, ChunkSender::new(tx), body);
        let written = encrypting
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the encrypting thread panicked")));
        match (framed, written) {
            (Ok((value, tar_bytes)), Ok(out)) => Ok((value, tar_bytes, out)),
            // The output's own error is the cause when the framing side only
            // saw the channel close.
            (Err(WriteError::Failed(Error::Io { source, .. })), Err(out_err))
                if source.kind() == io::ErrorKind::BrokenPipe =>
            {
                Err(WriteError::Failed(output_error(out_err)))
            }
            (Err(e), _) => Err(e),
            (Ok(_), Err(out_err)) => Err(WriteError::Failed(output_error(out_err))),
        }
    });
    // Whatever error an interrupted read surfaced as (a source read, the
    // channel closing), the interruption is the cause.
    result.map_err(|e| match e {
        WriteError::Failed(e) => WriteError::Failed(crate::interrupt::or_interrupted(e)),
        WriteError::SourceChanged(_) if crate::interrupt::requested() => {
            WriteError::Failed(Error::Interrupted)
        }
        other => other,
    })
}

fn output_failed(e: io::Error) -> WriteError {
    WriteError::Failed(Error::io(Action::Write, "archive output", e))
}

fn output_error(e: io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<OutputError>())
    {
        Some(OutputError { path, .. }) => {
            let path = path.clone();
            let kind = e.kind();
            Error::io(Action::Write, path, io::Error::new(kind, e.to_string()))
        }
        None => Error::io(Action::Write, "archive output", e),
    }
}

/// An error of an output file, carrying its path through `io::Error`.
#[derive(Debug)]
pub struct OutputError {
    /// The file that failed.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for OutputError {}

enum Message {
    Data(Vec<u8>),
    End,
}

/// The encrypting thread: age-encrypts chunks into `out` until `End`. If the
/// channel closes without `End` the producer failed, and the output is left
/// unfinished (the caller discards it) rather than sealed as if complete.
fn encrypt_chunks<W: Write>(
    encryptor: age::Encryptor,
    rx: Receiver<Message>,
    out: W,
) -> io::Result<W> {
    let mut writer = encryptor.wrap_output(out)?;
    loop {
        match rx.recv() {
            Ok(Message::Data(chunk)) => writer.write_all(&chunk)?,
            Ok(Message::End) => return writer.finish(),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "archive abandoned",
                ))
            }
        }
    }
}

/// Hands 1 MiB chunks of compressed data to the encrypting thread.
pub struct ChunkSender {
    tx: SyncSender<Message>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn new(tx: SyncSender<Message>) -> Self {
        ChunkSender {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send_buf(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(Message::Data(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "archive output failed"))
    }

    fn close(mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send_buf()?;
        }
        self.tx
            .send(Message::End)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "archive output failed"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts bytes written.
pub struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The uncompressed tar stream an archive's entries are appended to.
pub type TarStream = Counting<BufWriter<zstd::stream::write::Encoder<'static, ChunkSender>>>;

fn frame_and_compress<T>(
    level: i32,
    threads: u32,
    sender: ChunkSender,
    body: impl FnOnce(&mut tar::Builder<TarStream>) -> Result<T, WriteError>,
) -> Result<(T, u64), WriteError> {
    let zio = output_failed;
    let mut encoder = zstd::stream::write::Encoder::new(sender, level).map_err(zio)?;
    encoder.include_checksum(true).map_err(zio)?;
    let workers = worker_threads(threads);
    if workers > 1 {
        encoder.multithread(workers).map_err(zio)?;
        // Smaller jobs than zstd's default (4 windows) keep the workers'
        // buffers, and so our peak memory, well under 64 MiB.
        encoder
            .set_parameter(zstd::zstd_safe::CParameter::JobSize(JOB_SIZE))
            .map_err(zio)?;
    }
    let stream = Counting {
        inner: BufWriter::with_capacity(CHUNK, encoder),
        bytes: 0,
    };
    let mut builder = tar::Builder::new(stream);
    builder.mode(tar::HeaderMode::Complete);

    let value = body(&mut builder)?;

    let stream = builder.into_inner().map_err(zio)?;
    let tar_bytes = stream.bytes;
    let encoder = stream.inner.into_inner().map_err(|e| zio(e.into_error()))?;
    let sender = encoder.finish().map_err(zio)?;
    sender.close().map_err(zio)?;
    Ok((value, tar_bytes))
}

/// Appends a directory entry named `name` (a safe relative path, UTF-8).
pub fn append_directory<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &[u8],
    mtime: Mtime,
) -> io::Result<()> {
    let mut h = dir_header(0o755, mtime.secs);
    append_entry(builder, &mut h, name, mtime, io::empty())
}

/// Appends a regular file named `name` holding `data` (for small generated
/// files such as manifests).
pub fn append_bytes<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &[u8],
    data: &[u8],
    mtime: Mtime,
) -> io::Result<()> {
    let mut h = file_header(data.len() as u64, 0o644, mtime.secs);
    append_entry(builder, &mut h, name, mtime, data)
}

fn file_header(size: u64, mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn dir_header(mode: u32, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A modification time: whole seconds in the tar header, nanoseconds in a PAX
/// `mtime` record so a restore gives the file back its exact time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mtime {
    /// Seconds since the Unix epoch.
    pub secs: u64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Mtime {
    /// As a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::new(self.secs, self.nanos)
    }

    /// Parses a PAX time, `SECONDS[.FRACTION]`.
    pub fn parse_pax(text: &str) -> Option<Mtime> {
        let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
        let secs = secs.parse::<u64>().ok()?;
        let digits: String = frac.chars().take(9).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let nanos = if digits.is_empty() {
            0
        } else {
            format!("{digits:0<9}").parse::<u32>().ok()?
        };
        Some(Mtime { secs, nanos })
    }
}

fn mtime_of(meta: &fs::Metadata) -> Mtime {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(Mtime::default(), |d| Mtime {
            secs: d.as_secs(),
            nanos: d.subsec_nanos(),
        })
}

/// Appends one entry. The name goes into a PAX `path` record whenever it is
/// not plain ASCII of at most 100 bytes, because PAX names are UTF-8 by
/// definition: GNU tar and Windows' `tar.exe` (libarchive) both read them
/// right, where a GNU long name would be decoded in the local code page. The
/// header then carries an ASCII stand-in. The sub-second part of the mtime
/// goes into a PAX `mtime` record.
fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut tar::Header,
    name: &[u8],
    mtime: Mtime,
    data: impl Read,
) -> io::Result<()> {
    let plain = name.is_ascii() && name.len() <= 100;
    let mtime_text = format!("{}.{:09}", mtime.secs, mtime.nanos);
    let mut records: Vec<(&str, &[u8])> = Vec::new();
    if !plain {
        records.push(("path", name));
    }
    if mtime.nanos != 0 {
        records.push(("mtime", mtime_text.as_bytes()));
    }
    builder.append_pax_extensions(records)?;
    let field = &mut header.as_old_mut().name;
    field.fill(0);
    for (slot, byte) in field.iter_mut().zip(name.iter()) {
        *slot = if byte.is_ascii() && *byte != 0 {
            *byte
        } else {
            b'_'
        };
    }
    header.set_cksum();
    builder.append(header, data)
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata, default: u32) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let _ = default;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata, default: u32) -> u32 {
    default
}

/// The name an archive path is stored and listed under: its components, which
/// must be valid Unicode (archive names are UTF-8), joined by `/`.
pub fn archive_name(path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    for (i, c) in path.components().enumerate() {
        let Component::Normal(part) = c else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unexpected path component in {}", path.display()),
            ));
        };
        let part = part.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file name is not valid Unicode: {}", path.display()),
            )
        })?;
        // A line break cannot survive a PAX record as tar readers (tar-rs
        // among them) parse it; Windows forbids it anyway.
        if part.contains(['\n', '\r']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "file name holds a line break, which tar cannot carry: {}",
                    path.display()
                ),
            ));
        }
        if let Some(problem) = crate::entry_names::windows_name_problem(part) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "file name holds {problem}, which Windows cannot hold or reads as something else; rename the file: {}",
                    path.display()
                ),
            ));
        }
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part.as_bytes());
    }
    Ok(out)
}

/// Called for every regular file stored: its name in the archive, its
/// SHA-256 and its size.
pub type OnFile<'a> = &'a mut dyn FnMut(&[u8], &Sha256Digest, u64) -> Result<(), Error>;

/// Appends a file or directory tree read from disk under `prefix` followed by
/// its base name (`prefix` is empty or a safe relative path ending in `/`):
/// directories first, children sorted by name, links followed, special files
/// skipped into `stats.skipped`. Each file is hashed as it is read and given
/// to `on_file`; a file that changes while it is read gives
/// [`WriteError::SourceChanged`].
pub fn add_root(
    builder: &mut tar::Builder<TarStream>,
    root: &Path,
    prefix: &[u8],
    on_file: OnFile,
    stats: &mut ArchiveStats,
    progress: &dyn Progress,
) -> Result<(), WriteError> {
    let base = root.file_name().map(PathBuf::from).ok_or_else(|| {
        Error::io(
            Action::Read,
            root,
            io::Error::other("path has no file name"),
        )
    })?;
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        crate::interrupt::check()?;
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| io::Error::other("symbolic link loop"));
            Error::io(Action::Read, path, source)
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(Path::new(""));
        let name = if rel.as_os_str().is_empty() {
            base.clone()
        } else {
            base.join(rel)
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            let meta = entry
                .metadata()
                .map_err(|e| Error::io(Action::Read, entry.path(), e.into()))?;
            let mtime = mtime_of(&meta);
            let mut h = dir_header(mode_of(&meta, 0o755), mtime.secs);
            let stored =
                prefixed(prefix, &name).map_err(|e| Error::io(Action::Read, entry.path(), e))?;
            append_entry(builder, &mut h, &stored, mtime, io::empty())
                .map_err(|e| Error::io(Action::Write, "archive output", e))?;
            stats.dirs += 1;
        } else if file_type.is_file() {
            add_file(
                builder,
                entry.path(),
                prefix,
                &name,
                on_file,
                stats,
                progress,
            )?;
        } else {
            stats.skipped.push(entry.path().to_path_buf());
        }
    }
    Ok(())
}

fn prefixed(prefix: &[u8], name: &Path) -> io::Result<Vec<u8>> {
    let mut stored = prefix.to_vec();
    stored.extend_from_slice(&archive_name(name)?);
    Ok(stored)
}

fn add_file(
    builder: &mut tar::Builder<TarStream>,
    path: &Path,
    prefix: &[u8],
    name: &Path,
    on_file: OnFile,
    stats: &mut ArchiveStats,
    progress: &dyn Progress,
) -> Result<(), WriteError> {
    let file = match File::open(path) {
        Ok(f) => f,
        // Gone between listing and opening: the tree changed under us.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(WriteError::SourceChanged(path.to_path_buf()))
        }
        Err(e) => return Err(Error::io(Action::Read, path, e).into()),
    };
    let before = settled_metadata(&file, path)?;
    let size = before.len();
    let mut reader = ExactReader {
        inner: HashingReader::new(BufReader::with_capacity(CHUNK, &file)),
        remaining: size,
        short: false,
        progress,
    };
    let stored = prefixed(prefix, name).map_err(|e| Error::io(Action::Read, path, e))?;
    let mtime = mtime_of(&before);
    let mut header = file_header(size, mode_of(&before, 0o644), mtime.secs);
    let appended = append_entry(builder, &mut header, &stored, mtime, &mut reader);
    if reader.short {
        return Err(WriteError::SourceChanged(path.to_path_buf()));
    }
    appended.map_err(|e| {
        if e.get_ref().is_some_and(|i| i.is::<ReadFailure>()) {
            Error::io(Action::Read, path, io::Error::new(e.kind(), e.to_string()))
        } else {
            Error::io(Action::Write, "archive output", e)
        }
    })?;
    let after = file
        .metadata()
        .map_err(|e| Error::io(Action::Read, path, e))?;
    if after.len() != size || after.modified().ok() != before.modified().ok() {
        return Err(WriteError::SourceChanged(path.to_path_buf()));
    }
    let (digest, _) = reader.inner.finish();
    on_file(&stored, &digest, size)?;
    stats.files += 1;
    stats.plaintext_bytes += size;
    Ok(())
}

/// How far a file's mtime may lag the writes it stamps: file systems stamp
/// with a clock that ticks (a jiffy on Linux, at most 10 ms; 15.6 ms on
/// Windows). Coarser file systems (FAT: 2 s) are not covered.
pub const MTIME_GRANULARITY: std::time::Duration = std::time::Duration::from_millis(50);

/// The metadata that [`add_file`] compares after reading. A write in the
/// same clock tick as the one before leaves the mtime unchanged, so the
/// comparison proves nothing for a file modified within
/// [`MTIME_GRANULARITY`] of being read (regression: a file rewritten in
/// place was stored torn). Such a file gets one pause to settle and counts
/// as changing if it has not.
fn settled_metadata(file: &File, path: &Path) -> Result<fs::Metadata, WriteError> {
    for pause in [true, false] {
        let now = SystemTime::now();
        let meta = file
            .metadata()
            .map_err(|e| Error::io(Action::Read, path, e))?;
        let recent = meta.modified().is_ok_and(|m| {
            let apart = m.duration_since(now).unwrap_or_else(|e| e.duration());
            apart < MTIME_GRANULARITY
        });
        if !recent {
            return Ok(meta);
        }
        if pause {
            std::thread::sleep(MTIME_GRANULARITY);
        }
    }
    Err(WriteError::SourceChanged(path.to_path_buf()))
}

/// Marks read errors of a source file so they are reported against it.
#[derive(Debug)]
struct ReadFailure(io::Error);

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFailure {}

/// Yields exactly `remaining` bytes of a file; ending early sets `short`.
struct ExactReader<'a, R> {
    inner: HashingReader<R>,
    remaining: u64,
    short: bool,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        // Not a `ReadFailure`: an interruption is nobody's read error.
        crate::interrupt::check_io()?;
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self
            .inner
            .read(&mut buf[..want])
            .map_err(|e| io::Error::new(e.kind(), ReadFailure(e)))?;
        if n == 0 {
            self.short = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was read",
            ));
        }
        self.remaining -= n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

// ---------------------------------------------------------------------------
// Reading

/// A problem found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry concerned, if any (lossy UTF-8 for display).
    pub entry: Option<String>,
    /// What is wrong.
    pub detail: String,
}

/// The result of reading an archive to its end.
#[derive(Debug, Clone, Default)]
pub struct ArchiveReport {
    /// Regular files read (the manifest not counted).
    pub files: u64,
    /// Bytes of file contents read.
    pub bytes: u64,
    /// Every problem found; empty means intact.
    pub findings: Vec<Finding>,
    /// The SHA-256 of every file read, by archive name (the manifest not included).
    pub digests: BTreeMap<Vec<u8>, Sha256Digest>,
}

/// Why an archive could not be read at all.
#[derive(Debug)]
pub enum ReadError {
    /// The identities do not open it.
    WrongKey,
    /// It is not an age file, or its header is damaged.
    NotAnArchive(String),
    /// The file could not be read.
    Io(io::Error),
}

/// Opens an age-encrypted, zstd-compressed stream for reading its tar.
pub fn open<'a, R: io::BufRead + Send + 'static>(
    input: R,
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<impl Read + 'static, ReadError> {
    let decryptor =
        age::Decryptor::new_buffered(input).map_err(|e| ReadError::NotAnArchive(e.to_string()))?;
    let plain = decryptor.decrypt(identities).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => ReadError::WrongKey,
        age::DecryptError::Io(io) => ReadError::Io(io),
        other => ReadError::NotAnArchive(other.to_string()),
    })?;
    zstd::stream::read::Decoder::new(Prefetch::spawn(plain)).map_err(ReadError::Io)
}

/// The SHA-256 and size of an archive file as it was read for decrypting,
/// known once the reading reached the file's end.
#[derive(Debug, Clone, Default)]
pub struct CiphertextDigest(std::sync::Arc<std::sync::Mutex<Ciphertext>>);

/// What reading the file gave: its digest at the end, or the error of a
/// read that failed.
#[derive(Debug, Default)]
struct Ciphertext {
    digest: Option<(Sha256Digest, u64)>,
    failed: Option<(io::ErrorKind, Option<i32>, String)>,
}

impl CiphertextDigest {
    /// The digest and size, if the file was read to its end.
    pub fn get(&self) -> Option<(Sha256Digest, u64)> {
        self.0.lock().ok().and_then(|d| d.digest)
    }

    /// The error of a read of the file itself that failed (an I/O failure
    /// of the disk, not damage to what it holds), if one did.
    pub fn read_error(&self) -> Option<io::Error> {
        let state = self.0.lock().ok()?;
        let (kind, raw, message) = state.failed.as_ref()?;
        Some(match raw {
            Some(code) => io::Error::from_raw_os_error(*code),
            None => io::Error::new(*kind, message.clone()),
        })
    }

    /// Whether the bytes decrypted were exactly the file `SHA256SUMS` and
    /// `snapshot.json` describe (`sha256` hex, `bytes` long).
    pub fn matches(&self, sha256: &str, bytes: u64) -> bool {
        self.get()
            .is_some_and(|(d, len)| hex::encode(d) == sha256 && len == bytes)
    }
}

/// Hashes a file as it is read and records the digest at its end.
struct EndHashing<R> {
    inner: HashingReader<R>,
    slot: CiphertextDigest,
}

impl<R: Read> Read for EndHashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if let Ok(mut slot) = self.slot.0.lock() {
                    slot.failed
                        .get_or_insert((e.kind(), e.raw_os_error(), e.to_string()));
                }
                return Err(e);
            }
        };
        if n == 0 && !buf.is_empty() {
            if let Ok(mut slot) = self.slot.0.lock() {
                slot.digest = Some(self.inner.digest_so_far());
            }
        }
        Ok(n)
    }
}

/// Opens an archive file for reading its tar in the same pass that hashes
/// the ciphertext: what is decrypted is what is hashed, so a disk that serves
/// other bytes on a second read cannot pass. The result counts only if
/// [`CiphertextDigest::matches`] at the end.
pub fn open_hashed<'a, R: Read + Send + 'static>(
    input: R,
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<(impl Read + 'static, CiphertextDigest), ReadError> {
    let slot = CiphertextDigest::default();
    let reader = EndHashing {
        inner: HashingReader::new(input),
        slot: slot.clone(),
    };
    let plain = open(BufReader::with_capacity(CHUNK, reader), identities)?;
    Ok((plain, slot))
}

/// Reads ahead on a thread of its own, so reading and decrypting overlap
/// decompressing, parsing and hashing (the reverse of the writer's pipeline).
/// At most `CHANNEL_DEPTH` chunks are in flight; dropping the reader stops the
/// thread at its next chunk.
struct Prefetch {
    rx: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Prefetch {
    fn spawn<R: Read + Send + 'static>(mut inner: R) -> Prefetch {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(CHANNEL_DEPTH);
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if filled == 0 {
                return; // end of stream: the closed channel says so
            }
            buf.truncate(filled);
            if tx.send(Ok(buf)).is_err() {
                return; // the reader is gone
            }
        });
        Prefetch {
            rx,
            current: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The most bytes of one PAX extended header or GNU long name/link record.
pub const MAX_EXTENSION_RECORD: u64 = 64 * 1024;
/// The most bytes one line of `MANIFEST.sha256` may take: a digest, two
/// separators and a name of up to 4096 bytes, every byte escaped.
const MAX_MANIFEST_LINE: usize = 64 + 3 + 2 * 4096 + 64;

/// The most bytes of a manifest that follows `files` files: one line each.
/// The manifest comes last, so a forged one can never be larger than the
/// files actually read justify.
fn manifest_cap(files: u64) -> usize {
    usize::try_from(files.saturating_add(1))
        .unwrap_or(usize::MAX)
        .saturating_mul(MAX_MANIFEST_LINE)
}

/// Watches the tar stream block by block before the `tar` crate sees it, and
/// fails the read when a PAX extended header (`x`, `g`) or GNU long name or
/// link (`L`, `K`) is larger than [`MAX_EXTENSION_RECORD`]: the crate would
/// read such a record into memory whole, however large its header says it is.
/// Sparse entries (`S`, never written by kura) end the read too, since their
/// extra header blocks cannot be followed. After the first all-zero header
/// block (the end of the archive) bytes pass unexamined.
struct TarGuard<R> {
    inner: R,
    header: [u8; 512],
    filled: usize,
    data_left: u64,
    pax: Option<Vec<u8>>,
    pending_size: Option<u64>,
    ended: bool,
}

impl<R: Read> TarGuard<R> {
    fn new(inner: R) -> Self {
        TarGuard {
            inner,
            header: [0; 512],
            filled: 0,
            data_left: 0,
            pax: None,
            pending_size: None,
            ended: false,
        }
    }

    fn examine(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() && !self.ended {
            if self.data_left > 0 {
                let take = bytes
                    .len()
                    .min(self.data_left.min(usize::MAX as u64) as usize);
                if let Some(pax) = &mut self.pax {
                    pax.extend_from_slice(&bytes[..take]);
                }
                self.data_left -= take as u64;
                bytes = &bytes[take..];
                if self.data_left == 0 {
                    if let Some(pax) = self.pax.take() {
                        self.pending_size = pax_size(&pax);
                    }
                }
                continue;
            }
            let take = bytes.len().min(512 - self.filled);
            self.header[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 512 {
                continue;
            }
            self.filled = 0;
            if self.header.iter().all(|b| *b == 0) {
                self.ended = true;
                continue;
            }
            let size =
                header_size(&self.header[124..136]).ok_or_else(|| bad_tar("bad size field"))?;
            let kind = self.header[156];
            let size = match kind {
                b'x' | b'g' | b'L' | b'K' => {
                    if size > MAX_EXTENSION_RECORD {
                        return Err(bad_tar(&format!(
                            "a PAX header or long name of {size} bytes (more than {MAX_EXTENSION_RECORD}) / PAX ヘッダーまたは長い名前が大きすぎます"
                        )));
                    }
                    if kind == b'x' {
                        self.pax = Some(Vec::new());
                    }
                    size
                }
                b'S' => return Err(bad_tar("a sparse entry / スパースファイルは受け付けません")),
                _ => self.pending_size.take().unwrap_or(size),
            };
            // Data is padded to whole blocks; the PAX buffer keeps only the record.
            let padded = size.div_ceil(512).saturating_mul(512);
            self.data_left = padded;
            if let Some(pax) = &mut self.pax {
                if padded == 0 {
                    self.pax = None;
                } else {
                    pax.reserve(size as usize);
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.examine(&buf[..n])?;
        Ok(n)
    }
}

fn bad_tar(detail: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, detail.to_string())
}

/// A tar size field: octal, or base-256 when the high bit is set.
fn header_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = 0;
        for (i, b) in field.iter().enumerate() {
            let b = if i == 0 { b & 0x7f } else { *b };
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The `size` record of PAX extended header data, if any.
fn pax_size(mut data: &[u8]) -> Option<u64> {
    let mut size = None;
    while !data.is_empty() {
        // What follows the last record is block padding.
        let Some(space) = data.iter().position(|b| *b == b' ') else {
            return size;
        };
        let Some(len) = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
        else {
            return size;
        };
        if len <= space || len > data.len() {
            return size;
        }
        let record = &data[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(v) = record.strip_prefix(b"size=") {
            size = std::str::from_utf8(v).ok().and_then(|v| v.parse().ok());
        }
        data = &data[len..];
    }
    size
}

/// Whether an entry path is a safe relative path: no root, no drive, no `..`,
/// no empty or `.` parts, and no part that Windows cannot hold or reads as
/// something else ([`crate::entry_names::windows_name_problem`]), on every
/// platform.
pub fn is_safe_entry_path(name: &[u8]) -> bool {
    if name.is_empty() || name.starts_with(b"/") || name.contains(&0) {
        return false;
    }
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    trimmed.split(|b| *b == b'/').all(|part| {
        !part.is_empty()
            && part != b"."
            && part != b".."
            && crate::entry_names::windows_name_problem(&String::from_utf8_lossy(part)).is_none()
    })
}

/// Where the entries of an archive go as it is read. Only safe entries
/// (regular files and directories with safe relative names) ever reach it.
pub trait EntrySink {
    /// A directory.
    fn directory(&mut self, name: &[u8], mode: u32, mtime: Mtime) -> io::Result<()>;
    /// A regular file (the manifest included); `data` must be read to its end.
    fn file(&mut self, name: &[u8], mode: u32, mtime: Mtime, data: &mut dyn Read)
        -> io::Result<()>;
}

/// A sink that keeps nothing: reading is checking.
pub struct Discard;

impl EntrySink for Discard {
    fn directory(&mut self, _: &[u8], _: u32, _: Mtime) -> io::Result<()> {
        Ok(())
    }

    fn file(&mut self, _: &[u8], _: u32, _: Mtime, data: &mut dyn Read) -> io::Result<()> {
        io::copy(data, &mut io::sink()).map(|_| ())
    }
}

/// Reads a whole archive: checks every entry's type and path, hashes every
/// file and compares with the manifest, and reads the streams to their end.
pub fn check_archive(plain: impl Read, progress: &dyn Progress) -> io::Result<ArchiveReport> {
    read_archive(plain, progress, &mut Discard, false)
}

/// Reads a whole archive into `sink`. Unsafe entries never reach the sink;
/// with `stop_at_unsafe` reading ends at the first one (restore), otherwise
/// every problem is collected (verify).
pub fn read_archive(
    plain: impl Read,
    progress: &dyn Progress,
    sink: &mut dyn EntrySink,
    stop_at_unsafe: bool,
) -> io::Result<ArchiveReport> {
    let mut report = ArchiveReport::default();
    let mut manifest: Option<Vec<sums::SumEntry>> = None;
    let mut findings = Vec::new();
    let seen = std::cell::Cell::new(0u64);
    let rest = read_entries(
        plain,
        progress,
        sink,
        stop_at_unsafe,
        &|name| (name == MANIFEST_NAME.as_bytes()).then(|| manifest_cap(seen.get())),
        &mut findings,
        &mut |entry, findings| {
            let ReadEntry::File {
                name,
                digest,
                bytes,
                captured,
            } = entry
            else {
                return;
            };
            let shown = String::from_utf8_lossy(&name).into_owned();
            let finding = |detail: &str| Finding {
                entry: Some(shown.clone()),
                detail: detail.to_string(),
            };
            if let Some(captured) = captured {
                if manifest.is_some() {
                    findings.push(finding("second manifest"));
                } else {
                    match sums::parse(&captured[..]) {
                        Ok(m) => manifest = Some(m),
                        Err(e) => findings.push(finding(&format!("bad manifest: {e}"))),
                    }
                }
                return;
            }
            report.files += 1;
            seen.set(report.files);
            report.bytes += bytes;
            if report.digests.insert(name, digest).is_some() {
                findings.push(finding("file stored twice"));
            }
        },
    )?;
    report.findings = findings;
    match rest {
        None => Ok(report),
        Some(rest) => finish_report(rest, report, manifest),
    }
}

/// A safe entry as [`read_entries`] saw it, after the sink had it.
#[derive(Debug)]
pub enum ReadEntry {
    /// A directory.
    Directory {
        /// Its name in the archive.
        name: Vec<u8>,
    },
    /// A regular file, read to its end.
    File {
        /// Its name in the archive.
        name: Vec<u8>,
        /// SHA-256 of its contents.
        digest: Sha256Digest,
        /// Its size.
        bytes: u64,
        /// Its contents, when `capture` asked for them; `Some(empty)` with a
        /// finding when it was larger than the limit.
        captured: Option<Vec<u8>>,
    },
}

/// The generic reading pass under every archive reader: walks the tar stream,
/// turns away unsafe entries (anything but regular files and directories, or a
/// name that is absolute, has `..`, an empty part or NUL) with a finding,
/// hands safe ones to `sink`, hashes every file while the sink reads it, and
/// reports each entry to `on_entry`. `capture(name)` gives the most bytes of a
/// file to keep in memory (for manifests), or `None`. Returns the rest of the
/// stream after the end-of-archive marker, or `None` if reading stopped at an
/// unsafe entry (`stop_at_unsafe`).
pub fn read_entries<R: Read>(
    plain: R,
    progress: &dyn Progress,
    sink: &mut dyn EntrySink,
    stop_at_unsafe: bool,
    capture: &dyn Fn(&[u8]) -> Option<usize>,
    findings: &mut Vec<Finding>,
    on_entry: &mut dyn FnMut(ReadEntry, &mut Vec<Finding>),
) -> io::Result<Option<R>> {
    let mut archive = tar::Archive::new(TarGuard::new(plain));
    for entry in archive.entries()? {
        crate::interrupt::check_io()?;
        let mut entry = entry?;
        let name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let finding = |detail: &str| Finding {
            entry: Some(shown.clone()),
            detail: detail.to_string(),
        };
        let kind = entry.header().entry_type();
        let unsafe_entry = if !is_safe_entry_path(&name) {
            Some(finding("unsafe path (absolute, `..` or empty part)"))
        } else if !matches!(
            kind,
            tar::EntryType::Directory | tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            Some(finding(&format!(
                "not a regular file or directory ({kind:?})"
            )))
        } else {
            None
        };
        if let Some(f) = unsafe_entry {
            findings.push(f);
            if stop_at_unsafe {
                return Ok(None);
            }
            continue;
        }
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let mut mtime = Mtime {
            secs: entry.header().mtime().unwrap_or(0),
            nanos: 0,
        };
        if let Some(pax) = entry.pax_extensions()? {
            for ext in pax.flatten() {
                if ext.key() == Ok("mtime") {
                    if let Some(t) = ext.value().ok().and_then(Mtime::parse_pax) {
                        mtime = t;
                    }
                }
            }
        }
        if kind == tar::EntryType::Directory {
            sink.directory(&name, mode, mtime)?;
            on_entry(ReadEntry::Directory { name }, findings);
            continue;
        }
        let limit = capture(&name);
        let mut reader = CaptureReader {
            inner: HashingReader::new(ProgressReader {
                inner: &mut entry,
                progress,
            }),
            captured: Vec::new(),
            capture: limit.is_some(),
            limit: limit.unwrap_or(0),
            overflow: false,
        };
        sink.file(&name, mode, mtime, &mut reader)?;
        io::copy(&mut reader, &mut io::sink())?;
        let CaptureReader {
            inner,
            captured,
            overflow,
            ..
        } = reader;
        let (digest, bytes) = inner.finish();
        if overflow {
            findings.push(finding("too large for a manifest or tag file"));
        }
        on_entry(
            ReadEntry::File {
                name,
                digest,
                bytes,
                captured: limit.map(|_| captured),
            },
            findings,
        );
    }
    Ok(Some(archive.into_inner().inner))
}

/// Passes reads through, keeping a copy when asked (for the manifest, which
/// is both restored and parsed).
struct CaptureReader<R> {
    inner: R,
    captured: Vec<u8>,
    capture: bool,
    limit: usize,
    overflow: bool,
}

impl<R: Read> Read for CaptureReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.capture && !self.overflow {
            if self.captured.len().saturating_add(n) > self.limit {
                // Never hold an oversized "manifest" in memory.
                self.overflow = true;
                self.captured = Vec::new();
            } else {
                self.captured.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}

/// Reads the streams to their end (so the zstd frame checksum and age's last
/// tag are checked) and compares what was read with the manifest.
fn finish_report(
    rest: impl Read,
    mut report: ArchiveReport,
    manifest: Option<Vec<sums::SumEntry>>,
) -> io::Result<ArchiveReport> {
    drain_after_end(rest, &mut report.findings)?;
    match manifest {
        None => report.findings.push(Finding {
            entry: None,
            detail: format!("{MANIFEST_NAME} is missing"),
        }),
        Some(listed) => {
            let mut unlisted: std::collections::BTreeSet<&Vec<u8>> =
                report.digests.keys().collect();
            let mut problems = Vec::new();
            for item in &listed {
                let shown = String::from_utf8_lossy(&item.name).into_owned();
                match report.digests.get(&item.name) {
                    None => problems.push(Finding {
                        entry: Some(shown),
                        detail: "listed in the manifest but missing".into(),
                    }),
                    Some(d) if *d != item.digest => problems.push(Finding {
                        entry: Some(shown),
                        detail: "contents do not match the manifest".into(),
                    }),
                    Some(_) => {}
                }
                unlisted.remove(&item.name);
            }
            for name in unlisted {
                problems.push(Finding {
                    entry: Some(String::from_utf8_lossy(name).into_owned()),
                    detail: "not listed in the manifest".into(),
                });
            }
            report.findings.extend(problems);
        }
    }
    Ok(report)
}

/// Reads what follows the end-of-archive marker to the very end, so the zstd
/// frame checksum and age's last tag are checked; anything but zero padding
/// there is a finding.
pub fn drain_after_end(mut rest: impl Read, findings: &mut Vec<Finding>) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        crate::interrupt::check_io()?;
        let n = rest.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if buf[..n].iter().any(|b| *b != 0) {
            findings.push(Finding {
                entry: None,
                detail: "data after the end of the tar archive".into(),
            });
            io::copy(&mut rest, &mut io::sink())?;
            return Ok(());
        }
    }
}

struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::interrupt::check_io()?;
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_archive(dir: &Path, text: &[u8], id: &age::x25519::Identity) -> Vec<u8> {
        let src = dir.join("master");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("a.txt"), text).unwrap();
        let settings = ArchiveSettings {
            level: 3,
            threads: 1,
            manifest_mtime: 0,
        };
        let (_, out) = write_archive(
            &[src],
            &[id.to_public()],
            settings,
            Vec::new(),
            &crate::progress::Silent,
        )
        .map_err(|_| "write")
        .unwrap();
        out
    }

    #[test]
    fn the_ciphertext_digest_is_of_the_bytes_decrypted() {
        let id = age::x25519::Identity::generate();
        let dir = tempfile::tempdir().unwrap();
        let real = small_archive(&dir.path().join("1"), b"real", &id);
        let forged = small_archive(&dir.path().join("2"), b"forged", &id);
        let real_sha = hex::encode(sums::digest_reader(&real[..]).unwrap().0);
        for (bytes, expected) in [(&real, true), (&forged, false)] {
            let (plain, digest) = open_hashed(
                io::Cursor::new(bytes.clone()),
                std::iter::once(&id as &dyn age::Identity),
            )
            .map_err(|_| "open")
            .unwrap();
            let report = check_archive(plain, &crate::progress::Silent).unwrap();
            assert!(report.findings.is_empty(), "{:?}", report.findings);
            assert_eq!(
                digest.matches(&real_sha, real.len() as u64),
                expected,
                "a valid archive that is not the listed one must not count"
            );
        }
    }

    #[test]
    fn oversized_pax_headers_and_long_names_end_the_read() {
        for kind in [tar::EntryType::XHeader, tar::EntryType::GNULongName] {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(kind);
            h.set_size(MAX_EXTENSION_RECORD + 1);
            h.set_cksum();
            let mut guard = TarGuard::new(io::Cursor::new(h.as_bytes().to_vec()));
            let err = io::copy(&mut guard, &mut io::sink()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
        assert_eq!(pax_size(b"12 size=345\n\0\0\0"), Some(345));
    }

    #[test]
    fn unsafe_entry_paths_are_recognised() {
        for bad in [
            &b"/etc/passwd"[..],
            b"../x",
            b"a/../../x",
            b"a//b",
            b"",
            b"./a",
            b"a\0b",
        ] {
            assert!(
                !is_safe_entry_path(bad),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for good in [
            &b"master/households.csv"[..],
            "台帳/メモ 1.txt".as_bytes(),
            b"dir/",
        ] {
            assert!(is_safe_entry_path(good));
        }
    }

    #[test]
    fn pax_times_keep_nanoseconds() {
        assert_eq!(
            Mtime::parse_pax("1700000000.5"),
            Some(Mtime {
                secs: 1700000000,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            Mtime::parse_pax("1700000000.123456789123"),
            Some(Mtime {
                secs: 1700000000,
                nanos: 123_456_789
            })
        );
        assert_eq!(Mtime::parse_pax("12"), Some(Mtime { secs: 12, nanos: 0 }));
        assert_eq!(Mtime::parse_pax("-1.5"), None);
        assert_eq!(Mtime::parse_pax("1.x"), None);
    }

    #[test]
    fn names_with_line_breaks_are_refused_not_stored_unreadably() {
        assert!(archive_name(Path::new("master/bad\nname.txt")).is_err());
        assert!(archive_name(Path::new("master/ok name.txt")).is_ok());
    }

    #[test]
    fn archive_names_join_components_with_slashes() {
        let p = Path::new("master").join("sub").join("a b.txt");
        assert_eq!(archive_name(&p).unwrap(), b"master/sub/a b.txt");
    }
}
