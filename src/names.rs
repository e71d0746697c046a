//! Names of people as they are typed (temporary; see helper A).

/// A name in the form kura compares.
pub fn normalize(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two spellings name the same person.
pub fn same_person(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}
