//! SHA-256 helpers and the coreutils `sha256sum` checksum-file format.
//!
//! Both `SHA256SUMS` (over a snapshot's files) and `MANIFEST.sha256` (inside each
//! archive) use this format, so `sha256sum -c` checks them with no kura at hand.
//! A line is `HEX  NAME`. A name holding a backslash, newline or carriage return
//! is escaped as coreutils does it: the line starts with `\` and the name has
//! `\\`, `\n` and `\r`.

use std::io::{self, BufRead, Read, Write};

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Sha256Digest = [u8; 32];

/// Formats one checksum line, newline included.
pub fn format_line(digest: &Sha256Digest, name: &[u8]) -> Vec<u8> {
    let needs_escape = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut line = Vec::with_capacity(name.len() + 68);
    if needs_escape {
        line.push(b'\\');
    }
    line.extend_from_slice(hex::encode(digest).as_bytes());
    line.extend_from_slice(b"  ");
    for &b in name {
        match (needs_escape, b) {
            (true, b'\\') => line.extend_from_slice(b"\\\\"),
            (true, b'\n') => line.extend_from_slice(b"\\n"),
            (true, b'\r') => line.extend_from_slice(b"\\r"),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// One entry of a checksum file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    /// The expected digest.
    pub digest: Sha256Digest,
    /// The file name, unescaped, as bytes (names need not be UTF-8 on Unix).
    pub name: Vec<u8>,
}

/// Why a checksum file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {detail}")]
pub struct SumsParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub detail: String,
}

/// Parses a checksum file in coreutils format (text or binary mode markers).
/// Reads line by line; a line longer than 64 KiB is an error, not an allocation.
pub fn parse(reader: impl BufRead) -> Result<Vec<SumEntry>, SumsParseError> {
    const MAX_LINE: u64 = 64 * 1024;
    let mut entries = Vec::new();
    let mut reader = reader;
    let mut number = 0;
    loop {
        number += 1;
        let mut raw = Vec::new();
        let n = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut raw)
            .map_err(|e| SumsParseError {
                line: number,
                detail: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        if raw.last() != Some(&b'\n') && n as u64 > MAX_LINE {
            return Err(SumsParseError {
                line: number,
                detail: "line too long".into(),
            });
        }
        if raw.last() == Some(&b'\n') {
            raw.pop();
        }
        if raw.is_empty() {
            continue;
        }
        entries.push(parse_line(&raw).map_err(|detail| SumsParseError {
            line: number,
            detail,
        })?);
    }
    Ok(entries)
}

fn parse_line(raw: &[u8]) -> Result<SumEntry, String> {
    let (escaped, rest) = match raw.first() {
        Some(b'\\') => (true, &raw[1..]),
        _ => (false, raw),
    };
    if rest.len() < 66 {
        return Err("not a `HEX  NAME` line".into());
    }
    let (hex_part, tail) = rest.split_at(64);
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest)
        .map_err(|_| "the checksum is not 64 hexadecimal digits".to_string())?;
    let name = match tail {
        [b' ', b' ' | b'*', name @ ..] if !name.is_empty() => name,
        _ => return Err("expected two spaces (or ` *`) and a file name after the checksum".into()),
    };
    let name = if escaped {
        unescape(name)?
    } else {
        name.to_vec()
    };
    Ok(SumEntry { digest, name })
}

fn unescape(name: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len());
    let mut it = name.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            _ => return Err("invalid escape in file name".into()),
        }
    }
    Ok(out)
}

/// The SHA-256 of everything a reader yields, streamed in 1 MiB blocks.
pub fn digest_reader(mut reader: impl Read) -> io::Result<(Sha256Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        // Used everywhere a file is hashed: an interruption stops it within
        // one buffer.
        crate::interrupt::check_io()?;
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// A writer that hashes and counts what passes through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps a writer.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Sha256Digest, u64) {
        (self.inner, self.hasher.finalize().into(), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest and byte count.
    pub fn finish(self) -> (Sha256Digest, u64) {
        (self.hasher.finalize().into(), self.bytes)
    }

    /// The digest and byte count of what was read so far.
    pub fn digest_so_far(&self) -> (Sha256Digest, u64) {
        (self.hasher.clone().finalize().into(), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(byte: u8) -> Sha256Digest {
        [byte; 32]
    }

    #[test]
    fn plain_names_round_trip_without_escaping() {
        let line = format_line(&d(0xab), "master/台帳 メモ.txt".as_bytes());
        assert!(line.starts_with(b"abab"));
        assert!(line.ends_with("  master/台帳 メモ.txt\n".as_bytes()));
        let parsed = parse(&line[..]).unwrap();
        assert_eq!(parsed[0].name, "master/台帳 メモ.txt".as_bytes());
        assert_eq!(parsed[0].digest, d(0xab));
    }

    #[test]
    fn names_with_newline_or_backslash_are_escaped_like_coreutils() {
        let line = format_line(&d(1), b"a\\b\nc");
        assert_eq!(line[0], b'\\');
        assert!(line.ends_with(b"  a\\\\b\\nc\n"));
        assert_eq!(parse(&line[..]).unwrap()[0].name, b"a\\b\nc");
    }

    #[test]
    fn malformed_lines_name_their_line_number() {
        let text = format!(
            "{}\nnot a checksum line\n",
            String::from_utf8(format_line(&d(2), b"x"))
                .unwrap()
                .trim_end()
        );
        let err = parse(text.as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse(&b"zz"[..]).is_err());
        let bad_hex = format!("{}  name\n", "g".repeat(64));
        assert!(parse(bad_hex.as_bytes()).is_err());
    }

    #[test]
    fn binary_mode_marker_is_accepted() {
        let text = format!("{} *file.bin\n", hex::encode(d(3)));
        assert_eq!(parse(text.as_bytes()).unwrap()[0].name, b"file.bin");
    }

    #[test]
    fn hashing_adapters_agree_with_digest_reader() {
        let data = vec![7u8; 3 << 20];
        let (want, n) = digest_reader(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(&data).unwrap();
        let (_, got, bytes) = w.finish();
        assert_eq!((got, bytes), (want, n));
        let mut r = HashingReader::new(&data[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.finish(), (want, n));
    }
}
