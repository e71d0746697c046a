//! Documents as printed: an HTML document kura wrote, printed to PDF by
//! headless Chromium, counted with `pdfinfo` and read back with `pdftotext`,
//! so a test asserts what lands on the city's A4 sheets, not what the HTML
//! source says.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use super::util::have_tool;

/// A document printed to PDF.
pub struct Printed {
    /// The PDF.
    pub pdf: PathBuf,
    /// Its sheet count (`pdfinfo`'s `Pages:`).
    pub pages: usize,
    /// Its text (`pdftotext -layout`), page breaks as form feeds.
    pub text: String,
    /// Its text in reading order (`pdftotext` without `-layout`), where a
    /// cell's wrapped lines stay together.
    pub plain: String,
}

impl Printed {
    /// The text of page `n` (1-based).
    pub fn page(&self, n: usize) -> &str {
        self.text.split('\u{c}').nth(n - 1).unwrap_or("")
    }

    /// Page `n` in reading order.
    pub fn plain_page(&self, n: usize) -> &str {
        self.plain.split('\u{c}').nth(n - 1).unwrap_or("")
    }

    /// Whether page `n` has `wanted`, white space ignored, in either layout.
    pub fn page_has(&self, n: usize, wanted: &str) -> bool {
        let wanted = squeeze(wanted);
        squeeze(self.page(n)).contains(&wanted) || squeeze(self.plain_page(n)).contains(&wanted)
    }

    /// The text with white space removed, for finding labels that the
    /// layout splits across columns or spaces (`パ ソ コ ン`).
    pub fn squeezed(&self) -> String {
        squeeze(&self.text)
    }
}

/// Text without white space.
pub fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the printing tools are there (skipped with a message otherwise,
/// required under CI).
fn can_print() -> bool {
    have_tool("chromium") && have_tool("pdfinfo") && have_tool("pdftotext")
}

/// Whether `what` can be printed here, saying why not when it cannot: the
/// printing tools are Linux programs, so the Windows run skips it (the Linux
/// run prints the same document), and `have_tool` requires them under CI.
pub fn printable(what: &str) -> bool {
    if cfg!(windows) {
        eprintln!(
            "skipped on Windows: printing {what} (chromium and poppler-utils are Linux tools)"
        );
        return false;
    }
    if can_print() {
        return true;
    }
    eprintln!("skipped: printing {what} needs chromium and poppler-utils");
    false
}

/// Prints `html` (a file) to `<html>.pdf` with headless Chromium as a user
/// would (A4 from the document's `@page`, no header or footer).
pub fn print(html: &Path) -> Printed {
    let html = html.canonicalize().expect("document path");
    let pdf = html.with_extension("pdf");
    let out = StdCommand::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        pdf.is_file(),
        "chromium printed no PDF of {}: {}",
        html.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // For looking at: KURA_PAPER_OUT=dir keeps a copy of every printed PDF.
    if let Some(dir) = std::env::var_os("KURA_PAPER_OUT") {
        let name = html.file_name().unwrap_or_default();
        let _ = std::fs::copy(&pdf, Path::new(&dir).join(name).with_extension("pdf"));
    }
    let info = StdCommand::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    assert!(info.contains("(A4)"), "not A4: {info}");
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo Pages");
    let text = |layout: bool| {
        let mut c = StdCommand::new("pdftotext");
        if layout {
            c.arg("-layout");
        }
        let out = c.arg(&pdf).arg("-").output().expect("pdftotext");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    Printed {
        pages,
        text: text(true),
        plain: text(false),
        pdf,
    }
}

/// English words that must not appear in a Japanese document: status words,
/// action and destination names, units and technical labels a clerk cannot
/// read. Matched as whole words (ASCII letters around them do not count).
/// Command names stay: a hint such as `kura audit verify --checkpoint` is
/// what the reader types.
pub const ENGLISH_WORDS: &[&str] = &[
    "ok",
    "OK",
    "failed",
    "refused",
    "finding",
    "interrupted",
    "started",
    "latest",
    "all",
    "none",
    "erased",
    "absent",
    "missing",
    "Clear",
    "Purge",
    "Destroy",
    "overwrite",
    "crypto-erase",
    "verify.full",
    "hdd1",
    "hdd2",
    "MiB",
    "GiB",
    "KiB",
    "bytes",
    "Payload-Oxum",
    "Bag-Size",
    "true",
    "false",
    "null",
    "yes",
    "no",
];

/// The English words of [`ENGLISH_WORDS`] found in `text` as whole words.
pub fn english_words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in ENGLISH_WORDS {
        let mut from = 0;
        while let Some(at) = text[from..].find(word) {
            let start = from + at;
            let end = start + word.len();
            let before = text[..start].chars().next_back();
            let after = text[end..].chars().next();
            let is_part =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !is_part(before) && !is_part(after) {
                found.push(word.to_string());
                break;
            }
            from = end;
        }
    }
    found
}

#[test]
fn english_words_are_found_as_whole_words_only() {
    assert_eq!(english_words("結果: failed"), vec!["failed"]);
    assert!(english_words("全件消去済 (allowed)").is_empty());
    assert_eq!(english_words("123 MiB"), vec!["MiB"]);
    assert!(english_words("SEQ:HASH 12:ab").is_empty());
}
