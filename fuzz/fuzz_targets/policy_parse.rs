//! The policy parser and validator on arbitrary text: an error with a
//! location, never a panic (e.g. a span that is not a character boundary).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for lang in [kura::Lang::En, kura::Lang::Ja] {
        match kura::policy::Policy::parse(
            text,
            Path::new("kura.toml"),
            Path::new("/nonexistent"),
            lang,
        ) {
            Ok(_) => {}
            Err(e) => {
                // Rendering the error must not panic either.
                let _ = e.message(lang);
                let _ = e.hint(lang);
                let _ = e.exit_code();
            }
        }
    }
});
