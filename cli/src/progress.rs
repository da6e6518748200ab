//! Progress bars for long jobs: a bar on a terminal, plain lines in logs.

use indicatif::{ProgressBar, ProgressStyle};

/// Progress for logs (stderr not a terminal: CI, `nohup`, a pipe): a plain line at most every
/// 10 s, and the last one when the job is done, instead of nothing.
#[derive(Debug)]
struct LogLines {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl indicatif::TermLike for LogLines {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(());
        }
        // "… POS/LEN unit …": done when POS = LEN.
        let done = s.split_whitespace().any(|w| {
            w.split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && a == b && a.parse::<u64>().is_ok())
        });
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if done || last.is_none_or(|t| t.elapsed().as_secs_f64() >= 10.0) {
            *last = Some(std::time::Instant::now());
            eprintln!("{s}");
        }
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write_line(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A progress bar over `total` `unit`s: drawn on a terminal; otherwise (CI, `nohup`, a pipe)
/// a plain line at most every 10 s and a last one when done.
pub fn progress_bar(total: u64, unit: &str) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::term_like_with_hz(
                Box::new(LogLines {
                    last: std::sync::Mutex::new(None),
                }),
                1,
            ),
        );
        pb.set_style(
            ProgressStyle::with_template(&format!(
                "[{{elapsed_precise}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        return pb;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}
