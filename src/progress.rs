//! Progress reporting without printing: the engine calls a [`Progress`], the
//! command line decides whether that draws a bar (only on a terminal).

/// Receives progress of a long operation.
pub trait Progress: Sync {
    /// A new phase starts, e.g. one archive, with the bytes it will read.
    fn start(&self, label: &str, total_bytes: u64);
    /// `bytes` more were processed.
    fn advance(&self, bytes: u64);
    /// The phase ended.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
