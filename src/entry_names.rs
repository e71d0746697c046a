//! Names that Windows cannot hold or that mean something else there, and the
//! folding under which two names become one file on Windows or macOS.
//!
//! Pure functions: used when a backup or handover package is made (a clear
//! error naming the file) and when a restore or receive reads entries (an
//! unsafe entry, on every platform).

use unicode_normalization::UnicodeNormalization;

/// Device names Windows reserves in every directory, with any extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Why one path component cannot be a file name on Windows, or `None`.
pub fn windows_name_problem(part: &str) -> Option<&'static str> {
    if part.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}') {
        return Some("a control character");
    }
    if part.contains(':') {
        return Some("`:` (a stream or a drive letter on Windows)");
    }
    if part.contains('\\') {
        return Some("`\\` (a path separator on Windows)");
    }
    if part.contains(['<', '>', '"', '|', '?', '*']) {
        return Some("one of < > \" | ? * (not allowed on Windows)");
    }
    if part.ends_with('.') && part != "." && part != ".." {
        return Some("a trailing dot (Windows drops it)");
    }
    if part.ends_with(' ') {
        return Some("a trailing space (Windows drops it)");
    }
    let stem = part.split('.').next().unwrap_or(part).trim_end_matches(' ');
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Some("a device name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)");
    }
    None
}

/// The key under which two names are the same file on a case-insensitive,
/// normalising file system: NFC, then lower case.
pub fn fold(name: &str) -> String {
    name.nfc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_invalid_windows_names_are_recognised() {
        for bad in [
            "CON",
            "con",
            "Con.txt",
            "aux.txt",
            "NUL",
            "nul.tar.gz",
            "COM1",
            "com9.log",
            "LPT1",
            "lpt9.x",
            "PRN",
            "a.",
            "a ",
            "a:b",
            "C:",
            "a\\b",
            "a\u{1}b",
            "a<b",
            "a>b",
            "a\"b",
            "a|b",
            "a?b",
            "a*b",
            "CON .txt",
        ] {
            assert!(windows_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in [
            "CONSOLE.txt",
            "com10",
            "lpt",
            "台帳.csv",
            "メモ 1.txt",
            ".hidden",
            "a.b",
            "nulls.txt",
        ] {
            assert_eq!(windows_name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn names_fold_under_nfc_and_case() {
        assert_eq!(fold("Ab.txt"), fold("ab.txt"));
        // が as one code point and as か + combining dakuten.
        assert_eq!(fold("\u{304c}"), fold("\u{304b}\u{3099}"));
        assert_ne!(fold("a.txt"), fold("b.txt"));
    }
}
