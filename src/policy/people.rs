//! The people a policy names: who may run kura (`[access].operators`) and
//! who may approve an erasure (`[erasure].approvers`).
//!
//! Names are compared after [`names::normalize`], here and wherever a name
//! typed by a person meets one in the policy, so a name cannot be registered
//! twice in two spellings, and 「山田　太郎」 typed with an ideographic space is
//! the registered 「山田 太郎」. What kura records is the registered spelling.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use toml::Spanned;

use super::{resolve, ErasureRules, Policy, Text};
use crate::error::{Error, Result};
use crate::names;

/// One entry of `[access].operators`: a person (or the scheduled task) who
/// may run kura, optionally bound to the OS account they must run it under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// The name as registered (業務従事者名簿の表記); records carry it as written here.
    pub name: String,
    /// The OS account this name may be used from; `None`: any account.
    pub os_user: Option<String>,
}

/// One entry of `[erasure].approvers`: a person whose approvals of erasure
/// requests must be signed with their minisign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approver {
    /// The name as registered.
    pub name: String,
    /// Their minisign public key, resolved against the policy's directory.
    pub public_key: PathBuf,
}

// ---------------------------------------------------------------------------
// The text as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    operators: Spanned<Vec<Spanned<RawOperator>>>,
}

/// An operator as written: `"山田 太郎"` or `{ name = "山田 太郎", os_user = "yamada" }`.
enum RawOperator {
    Name(String),
    Table(RawOperatorTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperatorTable {
    name: Spanned<String>,
    os_user: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawOperator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct OperatorVisitor;
        impl<'de> Visitor<'de> for OperatorVisitor {
            type Value = RawOperator;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name, or a table { name = \"…\", os_user = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<RawOperator, E> {
                Ok(RawOperator::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<RawOperator, A::Error> {
                // The derived table keeps deny_unknown_fields, and the TOML
                // deserializer still points an unknown key at its place.
                RawOperatorTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawOperator::Table)
            }
        }
        d.deserialize_any(OperatorVisitor)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawErasure {
    #[serde(default)]
    allow_self_approval: bool,
    #[serde(default)]
    approvers: Vec<RawApprover>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprover {
    name: Spanned<String>,
    public_key: Spanned<String>,
}

// ---------------------------------------------------------------------------
// Validation

/// A trimmed, non-empty value, or a policy error at its place.
fn non_empty(t: &Text, s: &Spanned<String>, key: &str) -> Result<String> {
    let v = s.get_ref().trim();
    if names::normalize(v).is_empty() {
        Err(t.error(
            s.span(),
            format!("{key} が空です"),
            format!("{key} must not be empty"),
        ))
    } else {
        Ok(v.to_string())
    }
}

/// `[access].operators`: at least one, no name twice in any spelling.
pub(super) fn operators(t: &Text, raw: &RawAccess) -> Result<Vec<Operator>> {
    let mut operators: Vec<Operator> = Vec::new();
    for op in raw.operators.get_ref() {
        let (name, os_user) = match op.get_ref() {
            RawOperator::Name(n) => (
                non_empty(t, &Spanned::new(op.span(), n.clone()), "access.operators")?,
                None,
            ),
            RawOperator::Table(table) => (
                non_empty(t, &table.name, "access.operators.name")?,
                match &table.os_user {
                    Some(u) => Some(non_empty(t, u, "access.operators.os_user")?),
                    None => None,
                },
            ),
        };
        if let Some(first) = operators
            .iter()
            .find(|o| names::same_person(&o.name, &name))
        {
            let first = &first.name;
            return Err(t.error(
                op.span(),
                format!("作業者「{name}」が重複しています (「{first}」と同じ氏名です)"),
                format!("operator \"{name}\" is listed twice (the same name as \"{first}\")"),
            ));
        }
        operators.push(Operator { name, os_user });
    }
    if operators.is_empty() {
        return Err(t.error(
            raw.operators.span(),
            "access.operators に少なくとも1名を記載してください".into(),
            "access.operators must name at least one operator".into(),
        ));
    }
    Ok(operators)
}

/// The `[erasure]` table, and where each approver's key file is named (for
/// [`check_approver_keys`]).
pub(super) fn erasure(
    t: &Text,
    raw: &RawErasure,
    dir: &Path,
) -> Result<(ErasureRules, Vec<Range<usize>>)> {
    let mut approvers: Vec<Approver> = Vec::new();
    let mut spans = Vec::new();
    for a in &raw.approvers {
        let name = non_empty(t, &a.name, "erasure.approvers.name")?;
        if let Some(first) = approvers
            .iter()
            .find(|o| names::same_person(&o.name, &name))
        {
            let first = &first.name;
            return Err(t.error(
                a.name.span(),
                format!("承認者「{name}」が重複しています (「{first}」と同じ氏名です)"),
                format!("approver \"{name}\" is listed twice (the same name as \"{first}\")"),
            ));
        }
        let key = non_empty(t, &a.public_key, "erasure.approvers.public_key")?;
        approvers.push(Approver {
            name,
            public_key: resolve(dir, &key),
        });
        spans.push(a.public_key.span());
    }
    let rules = ErasureRules {
        allow_self_approval: raw.allow_self_approval,
        approvers,
    };
    Ok((rules, spans))
}

/// Every approver's public key must be a minisign public key kura can read:
/// a policy that names a key nobody can check approvals with is invalid.
pub(super) fn check_approver_keys(t: &Text, policy: &Policy) -> Result<()> {
    for (i, a) in policy.erasure.approvers.iter().enumerate() {
        if let Err(e) = crate::keys::load_public_key(&a.public_key) {
            let span = policy.approver_key_spans.get(i).cloned().unwrap_or(0..0);
            return Err(t.error(
                span,
                format!(
                    "[erasure] の承認者「{}」の公開鍵を使用できません: {}",
                    a.name,
                    e.message(crate::Lang::Ja)
                ),
                format!(
                    "[erasure]: the public key of approver \"{}\" cannot be used: {}",
                    a.name,
                    e.message(crate::Lang::En)
                ),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Authorisation

impl Policy {
    /// Checks that `operator` may run kura under this policy, from the OS
    /// account running this process; returns the name as registered.
    pub fn authorise(&self, operator: Option<&str>) -> Result<String> {
        self.authorise_as(operator, &whoami::username())
    }

    /// Checks that `operator` may run kura from the OS account `os_user`.
    ///
    /// Names are compared after [`names::normalize`]; the result is the
    /// registered spelling, which is what records carry. An operator bound to
    /// an `os_user` is refused from any other account.
    pub fn authorise_as(&self, operator: Option<&str>, os_user: &str) -> Result<String> {
        let given = operator
            .map(str::trim)
            .filter(|o| !names::normalize(o).is_empty())
            .ok_or(Error::OperatorMissing)?;
        let Some(op) = self
            .operators
            .iter()
            .find(|o| names::same_person(&o.name, given))
        else {
            return Err(Error::OperatorNotAuthorised {
                operator: given.to_string(),
                policy: self.file.clone(),
                known: self.operators.iter().map(|o| o.name.clone()).collect(),
            });
        };
        match &op.os_user {
            Some(expected) if !same_os_user(os_user, expected, cfg!(windows)) => {
                Err(Error::OperatorWrongAccount {
                    operator: op.name.clone(),
                    os_user: os_user.to_string(),
                    expected: expected.clone(),
                })
            }
            _ => Ok(op.name.clone()),
        }
    }
}

/// Whether the OS account `actual` is the policy's `expected`. On Windows
/// account names are case-insensitive and may come as `DOMAIN\user`; the
/// domain is ignored there. Elsewhere they are compared exactly.
fn same_os_user(actual: &str, expected: &str, windows: bool) -> bool {
    if windows {
        let bare = |u: &str| u.trim().rsplit('\\').next().unwrap_or("").to_lowercase();
        bare(actual) == bare(expected)
    } else {
        actual == expected
    }
}

#[cfg(test)]
mod tests {
    use super::same_os_user;

    #[test]
    fn posix_accounts_compare_exactly() {
        assert!(same_os_user("yamada", "yamada", false));
        assert!(!same_os_user("Yamada", "yamada", false));
        assert!(!same_os_user("CITY\\yamada", "yamada", false));
    }

    #[test]
    fn windows_accounts_ignore_case_and_domain() {
        assert!(same_os_user("CITY\\Yamada", "yamada", true));
        assert!(same_os_user("yamada", "city\\YAMADA", true));
        assert!(same_os_user("SYSTEM", "system", true));
        assert!(!same_os_user("CITY\\sato", "yamada", true));
    }
}
