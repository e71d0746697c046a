//! Which identity opens which snapshot: per age recipient, the snapshots on
//! the reachable disks encrypted to it (from each `snapshot.json`'s
//! `recipients`). The fact a crypto-erase needs (what becomes unreadable
//! when an identity is destroyed), and what a custodian's change needs
//! (what the leaving custodian's key still opens).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::policy::Policy;
use crate::snapshot;

/// One snapshot copy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Copy {
    /// Snapshot id.
    pub id: String,
    /// The destination it is on.
    pub destination: String,
    /// How many recipients it is encrypted to (1: only this one opens it).
    pub recipients: usize,
}

/// One recipient and what it opens.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The `age1…` recipient.
    pub recipient: String,
    /// Whether the policy encrypts new backups to it.
    pub in_policy: bool,
    /// The snapshot copies it opens, by id then destination.
    pub snapshots: Vec<Copy>,
}

/// Every recipient of the policy and of the snapshots on the reachable
/// disks, with the snapshots each opens; destinations not connected are
/// returned by name.
pub fn coverage(policy: &Policy) -> Result<(Vec<Coverage>, Vec<String>)> {
    let mut by: BTreeMap<String, Coverage> = policy
        .recipients
        .iter()
        .map(|r| {
            (
                r.clone(),
                Coverage {
                    recipient: r.clone(),
                    in_policy: true,
                    snapshots: Vec::new(),
                },
            )
        })
        .collect();
    let mut absent = Vec::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            absent.push(dest.name.clone());
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            let Ok(meta) = &s.meta else { continue };
            for r in &meta.recipients {
                by.entry(r.clone())
                    .or_insert_with(|| Coverage {
                        recipient: r.clone(),
                        in_policy: false,
                        snapshots: Vec::new(),
                    })
                    .snapshots
                    .push(Copy {
                        id: s.id.clone(),
                        destination: dest.name.clone(),
                        recipients: meta.recipients.len(),
                    });
            }
        }
    }
    let mut out: Vec<Coverage> = by.into_values().collect();
    for c in &mut out {
        c.snapshots
            .sort_by(|a, b| (&a.id, &a.destination).cmp(&(&b.id, &b.destination)));
    }
    Ok((out, absent))
}
