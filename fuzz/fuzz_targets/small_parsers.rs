//! The small text parsers of user input: audit checkpoints (`SEQ:HASH`),
//! PAX times, snapshot selections, `KURA_NOW`, entry-path safety, and the
//! JSON of snapshot.json and kura-volume.json. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<kura::snapshot::SnapshotMeta>(data);
    let _ = serde_json::from_slice::<kura::media::VolumeMarker>(data);
    let _ = kura::archive::is_safe_entry_path(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kura::audit::Checkpoint::parse(text, "fuzz");
    let _ = kura::archive::Mtime::parse_pax(text);
    let _ = kura::verify::Selection::parse(text);
    let _ = kura::clock::Clock::from_env_value(Some(text));
});
