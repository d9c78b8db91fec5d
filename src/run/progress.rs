//! Progress spinners on stderr, one per node; hidden when stderr is not a terminal or
//! with `--quiet`, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bars: MultiProgress,
}

pub struct Bar(ProgressBar);

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Progress { bars: MultiProgress::with_draw_target(target) }
    }

    pub fn hidden() -> Self {
        Self::new(true)
    }

    pub fn start(&self, label: &str) -> Bar {
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix:<32} {msg} {elapsed}").expect("valid template"));
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl Bar {
    pub fn finish(self, message: &str) {
        self.0.set_style(ProgressStyle::with_template("✓ {prefix:<32} {msg}").expect("valid template"));
        self.0.finish_with_message(message.to_string());
    }
}
