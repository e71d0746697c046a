//! Approval and rejection of a request (第13条2: deletion only on the city's
//! written instruction).
//!
//! Names are compared as people write them ([`crate::names`]: NFKC, spaces
//! collapsed), so 「山田　太郎」 is 山田 太郎. Where the policy registers
//! approvers with their minisign public keys, only they can approve, and only
//! with their secret key: the approval event then carries a signature over
//! [`ledger::approval_message`], which execution checks again.

use std::path::{Path, PathBuf};

use super::{ledger, request_status, store, Entry, Request};
use crate::audit::{Actor, AuditLog, Outcome};
use crate::error::{Error, Result};
use crate::keys::{self, PassphraseSource};
use crate::names;
use crate::policy::Policy;

/// The approver's secret key, given with `erase approve --key`.
pub struct ApprovalKey<'a> {
    /// The minisign secret key file (on the approver's own medium).
    pub secret_key: &'a Path,
    /// Where its password comes from, if it has one.
    pub passphrase: PassphraseSource<'a>,
}

/// The approvers the policy registers: (name, public key file).
pub(super) fn registered(policy: &Policy) -> Vec<(String, PathBuf)> {
    policy
        .erasure
        .approvers
        .iter()
        .map(|a| (a.name.clone(), a.public_key.clone()))
        .collect()
}

/// Approves a request by a named approver.
pub fn approve(
    log: &mut AuditLog,
    actor: &Actor,
    policy: &Policy,
    id: &str,
    approver: &str,
    key: Option<ApprovalKey>,
) -> Result<Request> {
    let entry = ledger::load(log, id)?;
    let req = &entry.request;
    if req.status != request_status::REQUESTED {
        return Err(Error::refused(
            format!("消去依頼 {id} は {} のため承認できません", req.status),
            format!("request {id} is {}, not awaiting approval", req.status),
        ));
    }
    let typed = approver.trim();
    if typed.is_empty() {
        return Err(Error::usage(
            "--approver に承認者の氏名を指定してください",
            "--approver must name a person",
        ));
    }
    let approvers = registered(policy);
    let (name, signed) = if approvers.is_empty() {
        if key.is_some() {
            return Err(Error::usage(
                "ポリシーに承認者の鍵 ([erasure].approvers) が登録されていないため --key は使えません",
                "--key needs approvers with keys in the policy ([erasure].approvers)",
            ));
        }
        (names::normalize(typed), None)
    } else {
        let Some((name, public_key)) = approvers.iter().find(|(n, _)| names::same_person(n, typed))
        else {
            let list = approvers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join("、");
            return Err(Error::refused(
                format!("{typed} は登録された承認者ではありません (登録: {list})"),
                format!(
                    "{typed} is not a registered approver (registered: {})",
                    list.replace('、', ", ")
                ),
            ));
        };
        let Some(key) = key else {
            return Err(Error::refused(
                format!("承認者 {name} の承認には署名が必要です: --key に {name} の minisign 秘密鍵を指定してください"),
                format!("an approval by {name} must be signed: give {name}'s minisign secret key with --key"),
            ));
        };
        let public = keys::load_public_key(public_key)?;
        let signing = keys::load_approver_key(key.secret_key, &public, key.passphrase)?;
        let message = ledger::approval_message(req, name);
        let signature = signing.sign_text(
            &message,
            &format!("kura-erasure-approval {id} {}", req.request_sha256),
        )?;
        (name.clone(), Some((keys::key_id(&public), signature)))
    };
    if is_requester(&name, &req.requested_by) && !policy.erasure.allow_self_approval {
        return Err(Error::refused(
            format!("{name} は消去依頼 {id} の依頼者のため承認できません ([erasure].allow_self_approval が無効)"),
            format!("{name} made request {id} and cannot approve it ([erasure].allow_self_approval is off)"),
        ));
    }
    let mut record = serde_json::json!({
        "request": id,
        "approved_by": name,
        "request_sha256": req.request_sha256,
    });
    if let Some((key_id, signature)) = &signed {
        record["key_id"] = key_id.clone().into();
        record["signature"] = signature.clone().into();
    }
    record_step(log, actor, "erase.approve", entry, &record)
}

/// Whether a typed approver is the requester: the same person after
/// normalisation, or the same letters with the spaces dropped (「山田太郎」 is
/// not a way round the rule).
fn is_requester(approver: &str, requester: &str) -> bool {
    let letters = |s: &str| -> String {
        names::normalize(s)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    names::same_person(approver, requester) || letters(approver) == letters(requester)
}

/// Rejects a request.
pub fn reject(
    log: &mut AuditLog,
    actor: &Actor,
    id: &str,
    by: &str,
    reason: &str,
) -> Result<Request> {
    let entry = ledger::load(log, id)?;
    let status = entry.request.status.as_str();
    if status != request_status::REQUESTED && status != request_status::APPROVED {
        return Err(Error::refused(
            format!("消去依頼 {id} は {status} のため却下できません"),
            format!("request {id} is {status} and cannot be rejected"),
        ));
    }
    let record = serde_json::json!({
        "request": id, "rejected_by": names::normalize(by), "reason": reason.trim(),
    });
    record_step(log, actor, "erase.reject", entry, &record)
}

/// Appends one step's event and writes what it changes to the tables, in one
/// transaction.
pub(super) fn record_step(
    log: &mut AuditLog,
    actor: &Actor,
    action: &str,
    entry: Entry,
    record: &serde_json::Value,
) -> Result<Request> {
    let mut entry = entry;
    let id = entry.request.id.clone();
    log.append_with(actor, action, &id, Outcome::Ok, record, |tx, e| {
        ledger::fold_into(&mut entry, e);
        store::update_request(tx, &entry.request)
    })?;
    Ok(entry.request)
}

/// Checks a signed approval again before execution (exit 4 if it is missing
/// or does not verify with the registered approver's key).
pub(super) fn check_signed_approval(policy: &Policy, entry: &Entry) -> Result<()> {
    let approvers = registered(policy);
    if approvers.is_empty() {
        return Ok(());
    }
    let req = &entry.request;
    let id = &req.id;
    let by = req.approved_by.clone().unwrap_or_default();
    let refuse = |ja: String, en: String| Err(Error::refused(ja, en));
    let Some((name, public_key)) = approvers.iter().find(|(n, _)| names::same_person(n, &by))
    else {
        return refuse(
            format!("消去依頼 {id} の承認者 {by} は登録された承認者ではありません"),
            format!("request {id} was approved by {by}, who is not a registered approver"),
        );
    };
    let Some(signature) = &entry.events.approval_signature else {
        return refuse(
            format!("消去依頼 {id} の承認に {name} の署名がありません"),
            format!("the approval of request {id} carries no signature by {name}"),
        );
    };
    let public = keys::load_public_key(public_key)?;
    let message = ledger::approval_message(req, name);
    if keys::verify_text(&public, &message, signature).is_err()
        || ledger::request_sha256(req) != req.request_sha256
    {
        return refuse(
            format!("消去依頼 {id} の承認の署名が {name} の公開鍵で検証できません"),
            format!("the signature on the approval of request {id} does not verify with {name}'s public key"),
        );
    }
    Ok(())
}
