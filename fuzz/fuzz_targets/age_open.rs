//! The age header and payload, then zstd, then tar, as `verify -i` and
//! `restore` read an archive file, with a fixed identity (the demo one): a
//! clear error, never a panic.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// keys-example/demo-identity.txt (a published demo key, never for real data).
const DEMO_IDENTITY: &str = include_str!("../../keys-example/demo-identity.txt");

fn identity() -> &'static age::x25519::Identity {
    static ID: OnceLock<age::x25519::Identity> = OnceLock::new();
    ID.get_or_init(|| {
        let line = DEMO_IDENTITY
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .expect("a demo identity");
        age::x25519::Identity::from_str(line).expect("a valid demo identity")
    })
}

fuzz_target!(|data: &[u8]| {
    let ids = std::iter::once(identity() as &dyn age::Identity);
    // `open` wants an owned reader (its identities are `'static` here).
    if let Ok(plain) = kura::archive::open(std::io::Cursor::new(data.to_vec()), ids) {
        let _ = kura::archive::check_archive(plain, &kura::progress::Silent);
    }
});
