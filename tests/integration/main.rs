//! One integration-test binary, a module per area. Every test runs the real
//! `kura` binary in a temporary site; interop tests also run the stock `age`,
//! `zstd`, `tar`, `sha256sum` and `minisign`.

mod access;
mod audit;
mod backup;
mod changing;
mod check;
mod contract_year;
mod demo;
mod disks;
mod erase;
mod erase_paper;
mod erase_truth;
mod faults;
mod fiu;
mod format_doc;
mod forms;
mod garbage;
mod handover;
mod help_ja;
mod hostile;
mod interop;
pub(crate) mod interrupt;
mod inventory;
mod japanese_output;
mod keys;
mod manual;
mod memory;
mod paper;
mod platform;
mod policy;
mod recovery;
mod rehearsal;
mod restore;
mod rotation;
mod util;
mod verify;
mod wine;
mod write_side;
