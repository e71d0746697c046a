//! The coreutils checksum-file parser (SHA256SUMS, MANIFEST.sha256): never a
//! panic, and every entry it accepts formats back to a line it parses the
//! same way.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = kura::sums::parse(data) {
        for e in entries {
            let line = kura::sums::format_line(&e.digest, &e.name);
            let again = kura::sums::parse(&line[..]).expect("a formatted line parses");
            assert_eq!(again, vec![e]);
        }
    }
});
