//! kura (蔵, "storehouse") keeps the master data file and the logs of a municipal
//! system safe for their whole life: monthly encrypted, compressed, checksummed
//! snapshots onto registered media, checked without the key and restorable with
//! stock tools (`age -d | zstd -d | tar -x`, `sha256sum -c`).
//!
//! This crate is the engine. It knows nothing of the command line and prints
//! nothing; `src/main.rs` and `src/cli/` parse arguments, call into here, and
//! render text or JSON. Every fallible operation returns [`Error`], whose
//! [`Error::exit_code`] is the one place that maps failures to the exit codes
//! of the product contract.
//!
//! The rooms of the house:
//! - [`policy`]: the TOML policy file, validated with file, line and column.
//! - [`keys`]: age identities and recipients, minisign signing keys.
//! - [`names`]: people's names (氏名) compared after NFKC and whitespace folding.
//! - [`media`]: registered volumes, destination locks, free space.
//! - [`archive`]: the tar → zstd → age stream and its reader.
//! - [`sums`]: the coreutils `sha256sum` format.
//! - [`snapshot`]: `snapshot.json`, listing, and atomic publication.
//! - [`backup`]: the monthly job that ties them together.
//! - [`verify`]: checking a snapshot with and without the key.
//! - [`restore`]: writing an archive back, distrusting it.
//! - [`retention`] and [`erasure`]: what may go, and the request → approval →
//!   execution → certificate workflow through which anything goes.
//! - [`handover`]: signed, encrypted BagIt packages for the next contractor.
//! - [`check`] and [`report`]: the monthly inspection items and the monthly report.
//! - [`audit`]: the hash-chained log of every use, and its checkpoints.
//! - [`inventory`]: the snapshots the log wrote and erased, against the disks.
//! - [`interrupt`]: Ctrl-C and SIGTERM, turned into a clean stop.
//! - [`demo`] and [`sample_data`]: a self-contained sandbox.
//! - [`private`]: owner-only access (Unix modes, Windows DACLs).

// No unsafe code, with one exception: the Win32 security calls that give
// keys and personal data an owner-only DACL on Windows (`private::windows`),
// for which no maintained safe wrapper exists.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod audit;
pub mod backup;
pub mod bounded;
pub mod check;
pub mod clock;
pub mod coverage;
pub mod demo;
pub mod documents;
pub mod entry_names;
pub mod erasure;
pub mod error;
pub mod handover;
pub mod html;
pub mod i18n;
pub mod interrupt;
pub mod inventory;
pub mod keys;
pub mod media;
pub mod names;
pub mod policy;
pub mod private;
pub mod progress;
pub mod recovery;
pub mod report;
pub mod restore;
pub mod retention;
pub mod sample_data;
pub mod signers;
pub mod snapshot;
pub mod sums;
pub mod verify;
pub mod wareki;

pub use error::{Error, ExitCode, Result};
pub use i18n::Lang;

/// The tool's name and version as recorded in snapshots and certificates.
pub const TOOL_NAME: &str = "kura";
/// The crate version, recorded in every snapshot.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
