//! Failing system calls, injected with libfiu's POSIX preload (`fiu-run -x`,
//! Debian `fiu-utils`): deterministic cases that say what kura does when
//! the operating system refuses a call.

use std::process::Command;

use super::util::{have_tool, Site};

#[test]
fn a_policy_the_disk_cannot_read_is_exit_3_naming_it_not_a_usage_error() {
    if !have_tool("fiu-run") {
        return;
    }
    let site = Site::new();
    // Every read(2) fails with EIO: the first file kura reads is the policy.
    let out = Command::new("fiu-run")
        .args(["-x", "-c", "enable name=posix/io/rw/read,failinfo=5"])
        .arg(env!("CARGO_BIN_EXE_kura"))
        .current_dir(&site.root)
        .env("LANG", "C")
        .env_remove("KURA_LANG")
        .arg("--policy")
        .arg(site.policy_path())
        .arg("check")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("kura.toml"), "{stderr}");
    assert!(stderr.contains("os error 5"), "{stderr}");
    // A policy that is not there is still the user's mistake: exit 2.
    let missing = super::util::kura()
        .current_dir(&site.root)
        .args(["--policy", "no-such.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
