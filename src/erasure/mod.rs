//! Erasure (第13条, 別添5 5(10)(11)): nothing is deleted without a record, and
//! the record says only what happened.
//!
//! A request lists concrete items — every file of every copy of a snapshot on
//! every destination, files, identity files, or physical media described in
//! text — each with the size, SHA-256, volume and file identity it had when it
//! was requested. It must be approved by a named person (not the requester,
//! unless the policy allows it; with a signature where the policy registers
//! approvers' keys) before it can be executed, and execution is refused before
//! the planned date.
//!
//! The audit chain is the record. Every step — the request with its full item
//! list and the hash over it ([`ledger::request_sha256`]), the approval, each
//! item's outcome, the end of an execution — is an audit event, written in the
//! same transaction as the tables beside the events (`erasure_requests`,
//! `erasure_items`), which are only an index. [`load`] replays the chain and
//! refuses (exit 1) when the tables disagree with it, so a row inserted or
//! edited by hand can neither drive an execution nor appear on a certificate.
//!
//! Execution erases an item only when it is the very file that was requested:
//! reached without following a link at any level, on the registered volume
//! recorded at request time, with the same file identity, size and SHA-256.
//! An item on a disk that is not connected stays `pending` (exit 3, resumable);
//! an item that is missing, changed, replaced or reached through a link is a
//! finding (exit 1) and is left as it is. See [`execute`].

mod approve;
mod execute;
pub mod guard;
pub mod ledger;
mod request;
mod store;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;

pub use approve::{approve, reject, ApprovalKey};
pub use execute::{
    execute, overwrite_and_remove, Erased, Execution, READBACK_CACHE, READBACK_DEVICE,
};
pub use ledger::{list, load, reconcile, Entry, EventRef, Events};
pub use request::{all_snapshots, lexical, request};
pub(crate) use store::SCHEMA;

/// How items are erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Overwrite in place, fsync, read back, unlink, confirm absence (NIST Clear).
    Overwrite,
    /// Destroy every listed copy of an identity (NIST Purge by cryptographic erase).
    CryptoErase,
    /// Physical destruction, recorded on the operator's word with a witness.
    Destroy,
}

impl Method {
    /// Parses `overwrite`, `crypto-erase` or `destroy`.
    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "overwrite" => Some(Method::Overwrite),
            "crypto-erase" => Some(Method::CryptoErase),
            "destroy" => Some(Method::Destroy),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Overwrite => "overwrite",
            Method::CryptoErase => "crypto-erase",
            Method::Destroy => "destroy",
        }
    }

    /// The NIST SP 800-88 method type.
    pub fn nist_type(self) -> &'static str {
        match self {
            Method::Overwrite => "Clear",
            Method::CryptoErase => "Purge (cryptographic erase)",
            Method::Destroy => "Destroy",
        }
    }
}

/// What a request asks to erase, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSpec {
    /// A snapshot: every file of every copy on every destination.
    Snapshot(String),
    /// A file.
    File(PathBuf),
    /// An identity file (for crypto-erase).
    Identity(PathBuf),
    /// A physical medium, described in text.
    Medium(String),
}

/// A request to create.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The items.
    pub items: Vec<ItemSpec>,
    /// The method.
    pub method: Method,
    /// The planned date.
    pub planned: NaiveDate,
    /// Why.
    pub reason: String,
}

/// The states of an item.
pub mod item_status {
    /// Not yet erased (or its disk was not connected).
    pub const PENDING: &str = "pending";
    /// kura began overwriting it (an interrupted run leaves this).
    pub const ERASING: &str = "erasing";
    /// Overwritten and read back as zeros; only the unlink was left when an
    /// interrupted run stopped.
    pub const ZEROED: &str = "zeroed";
    /// Overwritten, read back as zeros, unlinked, absence confirmed.
    pub const ERASED: &str = "erased";
    /// Physical destruction recorded on the operator's word.
    pub const RECORDED: &str = "recorded";
    /// An I/O failure; execute again to retry.
    pub const FAILED: &str = "failed";
    /// Present at request time, gone at execution, not erased by kura.
    pub const MISSING: &str = "missing";
    /// Its size or SHA-256 is not what was requested.
    pub const MISMATCH: &str = "mismatch";
    /// Reached through a symbolic link (or junction) at some level.
    pub const LINKED: &str = "linked";
    /// Another file (or no regular file) now stands at its path.
    pub const REPLACED: &str = "replaced";

    /// Whether the status is an integrity finding.
    pub fn is_finding(status: &str) -> bool {
        matches!(status, MISSING | MISMATCH | LINKED | REPLACED)
    }

    /// Whether the item is done (erased or recorded).
    pub fn is_done(status: &str) -> bool {
        matches!(status, ERASED | RECORDED)
    }
}

/// The states of a request.
pub mod request_status {
    /// Waiting for approval.
    pub const REQUESTED: &str = "requested";
    /// Approved, not yet executed.
    pub const APPROVED: &str = "approved";
    /// Rejected.
    pub const REJECTED: &str = "rejected";
    /// Executed in part: items are pending or failed; execute again.
    pub const PARTIAL: &str = "partial";
    /// Every item settled, but some are findings: never "all erased".
    pub const INCOMPLETE: &str = "incomplete";
    /// Every item erased (or recorded).
    pub const EXECUTED: &str = "executed";
}

/// One concrete item of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Item {
    /// Its number within the request, from 1.
    pub n: u32,
    /// `snapshot`, `file`, `identity` or `medium`.
    pub kind: String,
    /// The snapshot id, the file, or the medium's description.
    pub target: String,
    /// For snapshot copies: the destination.
    pub destination: Option<String>,
    /// For snapshot copies: the registered volume id the copy was on.
    pub volume: Option<String>,
    /// The file to erase (none for a medium).
    pub path: Option<String>,
    /// Its size at request time; execution erases only a file of this size.
    pub size: Option<u64>,
    /// Its SHA-256 at request time; execution erases only a file with it.
    pub sha256: Option<String>,
    /// Its identity on the volume at request time (device:inode).
    pub file_id: Option<String>,
    /// One of [`item_status`].
    pub status: String,
    /// Why it is pending, failed or a finding, or notes.
    pub detail: Option<String>,
    /// When it was erased (RFC 3339).
    pub erased_at: Option<String>,
    /// How the zeros were read back: `device` (the page cache dropped first)
    /// or `cache` (where the platform cannot drop it).
    pub readback: Option<String>,
}

/// A request, as the chain records it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Request {
    /// `ER-YYYY-NNNN`.
    pub id: String,
    /// When it was made.
    pub created_at: String,
    /// Who asked.
    pub requested_by: String,
    /// The method.
    pub method: String,
    /// The planned date, `YYYY-MM-DD`.
    pub planned: String,
    /// Why.
    pub reason: String,
    /// Extra facts (media, crypto-erase recipients and affected snapshots).
    pub details: serde_json::Value,
    /// The hash over the request and its items (what an approver signs).
    pub request_sha256: String,
    /// One of [`request_status`].
    pub status: String,
    /// The approver (or rejecter).
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// The minisign key id of a signed approval.
    pub approval_key_id: Option<String>,
    /// Who executed.
    pub executed_by: Option<String>,
    /// When execution last ran.
    pub executed_at: Option<String>,
    /// The witness.
    pub witness: Option<String>,
    /// A rejection reason or other note.
    pub note: Option<String>,
    /// The items.
    pub items: Vec<Item>,
}

impl Item {
    /// A pending item of this kind and target, its other fields empty.
    pub fn pending(kind: &str, target: &str) -> Item {
        Item {
            n: 0,
            kind: kind.to_string(),
            target: target.to_string(),
            destination: None,
            volume: None,
            path: None,
            size: None,
            sha256: None,
            file_id: None,
            status: item_status::PENDING.into(),
            detail: None,
            erased_at: None,
            readback: None,
        }
    }
}

impl Request {
    /// Total bytes of the items, as recorded.
    pub fn bytes(&self) -> u64 {
        self.items.iter().filter_map(|i| i.size).sum()
    }

    /// The distinct snapshot ids it covers.
    pub fn snapshots(&self) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|i| i.kind == "snapshot")
            .map(|i| i.target.clone())
            .collect()
    }

    /// The status the items give, once execution has begun.
    pub fn settled_status(&self) -> &'static str {
        let statuses = self.items.iter().map(|i| i.status.as_str());
        if statuses.clone().all(item_status::is_done) {
            request_status::EXECUTED
        } else if statuses
            .clone()
            .any(|s| !item_status::is_done(s) && !item_status::is_finding(s))
        {
            request_status::PARTIAL
        } else {
            request_status::INCOMPLETE
        }
    }

    /// The items that are findings.
    pub fn findings(&self) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .filter(|i| item_status::is_finding(&i.status))
    }
}
