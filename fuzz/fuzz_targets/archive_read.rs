//! The distrustful archive reader on arbitrary plaintext tar bytes (the layer
//! under age and zstd): findings or an I/O error, never a panic, and nothing
//! unsafe ever reaches the sink.
#![no_main]

use std::io::{self, Read};

use kura::archive::{self, EntrySink, Mtime};
use libfuzzer_sys::fuzz_target;

/// Checks that only safe names arrive, and reads what it is given.
struct Strict;

impl EntrySink for Strict {
    fn directory(&mut self, name: &[u8], _: u32, _: Mtime) -> io::Result<()> {
        assert!(archive::is_safe_entry_path(name));
        Ok(())
    }

    fn file(&mut self, name: &[u8], _: u32, _: Mtime, data: &mut dyn Read) -> io::Result<()> {
        assert!(archive::is_safe_entry_path(name));
        io::copy(data, &mut io::sink()).map(|_| ())
    }
}

fuzz_target!(|data: &[u8]| {
    let silent = kura::progress::Silent;
    let _ = archive::check_archive(data, &silent);
    let _ = archive::read_archive(data, &silent, &mut Strict, true);
});
