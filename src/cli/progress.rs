//! Progress bars on stderr, drawn only on a terminal.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Byte progress bars, one per phase, implementing the library's `Progress`.
pub struct Bar {
    visible: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// Bars that draw only if `visible`.
    pub fn new(visible: bool) -> Bar {
        Bar {
            visible,
            current: Mutex::new(None),
        }
    }

    fn with(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        if let Ok(mut guard) = self.current.lock() {
            f(&mut guard);
        }
    }
}

impl kura::progress::Progress for Bar {
    fn start(&self, label: &str, total_bytes: u64) {
        if !self.visible {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>14} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        self.with(|slot| {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        });
    }

    fn advance(&self, bytes: u64) {
        if self.visible {
            self.with(|slot| {
                if let Some(b) = slot {
                    b.inc(bytes);
                }
            });
        }
    }

    fn finish(&self) {
        self.with(|slot| {
            if let Some(b) = slot.take() {
                b.finish();
            }
        });
    }
}
