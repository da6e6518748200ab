//! What the DDS stack logs (RustDDS and ros2-client speak through the `log` crate), on stderr
//! when asked: `G1D_DDS_LOG=error|warn|info|debug|trace` (unset or `off`: nothing). Discovery,
//! DDS Security handshakes and key exchange report their failures only there.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLog;

/// When the logger was installed: each line carries the seconds since.
static START: OnceLock<Instant> = OnceLock::new();

/// Lines per source (`target`) and second beyond which the rest of that second is counted, not
/// printed (a peer without credentials makes RustDDS log every message it rejects).
pub const LINES_PER_SECOND: u32 = 20;

/// Per target: the second being counted, lines in it, and lines held back.
type Counts = HashMap<String, (u64, u32, u64)>;
static RATE: Mutex<Option<Counts>> = Mutex::new(None);

/// Whether a line from `target` at `t` seconds may be printed; when a new second begins after
/// lines were held back, also how many.
fn admit(target: &str, t: f64) -> (bool, u64) {
    let Ok(mut guard) = RATE.lock() else {
        return (true, 0);
    };
    let map = guard.get_or_insert_with(HashMap::new);
    let sec = t as u64;
    let e = map.entry(target.to_string()).or_insert((sec, 0, 0));
    let mut held = 0;
    if e.0 != sec {
        held = e.2;
        *e = (sec, 0, 0);
    }
    e.1 += 1;
    if e.1 > LINES_PER_SECOND {
        e.2 += 1;
        return (false, held);
    }
    (true, held)
}

impl Log for StderrLog {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
            let (print, held) = admit(r.target(), t);
            if held > 0 {
                eprintln!(
                    "[dds {t:.3} {}] {held} more lines held back in the previous second",
                    r.target()
                );
            }
            if print {
                eprintln!("[dds {t:.3} {} {}] {}", r.level(), r.target(), r.args());
            }
        }
    }

    fn flush(&self) {}
}

/// The level `G1D_DDS_LOG` asks for; an unknown value is an error naming the accepted ones.
pub fn level_from(value: Option<&str>) -> Result<LevelFilter, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(LevelFilter::Off),
        Some(v) => v.parse::<LevelFilter>().map_err(|_| {
            format!("G1D_DDS_LOG = {v:?}: expected off, error, warn, info, debug or trace")
        }),
    }
}

/// Installs the stderr logger at the level of `G1D_DDS_LOG` (once per process; later calls and
/// `off` do nothing).
pub fn init_from_env() -> Result<(), String> {
    let level = level_from(std::env::var("G1D_DDS_LOG").ok().as_deref())?;
    if level != LevelFilter::Off && log::set_logger(&StderrLog).is_ok() {
        START.get_or_init(Instant::now);
        log::set_max_level(level);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_bad_values_name_the_choices() {
        assert_eq!(level_from(None), Ok(LevelFilter::Off));
        assert_eq!(level_from(Some("warn")), Ok(LevelFilter::Warn));
        assert_eq!(level_from(Some("DEBUG")), Ok(LevelFilter::Debug));
        let e = level_from(Some("loud")).unwrap_err();
        assert!(e.contains("\"loud\"") && e.contains("warn"), "{e}");
    }

    #[test]
    fn a_flood_from_one_source_is_counted_not_printed() {
        let printed = (0..100).filter(|_| admit("test::flood", 5.5).0).count();
        assert_eq!(printed, LINES_PER_SECOND as usize);
        // Another source is not held back by the first.
        assert!(admit("test::other", 5.5).0);
        // The next second prints again and tells how many were held back.
        assert_eq!(
            admit("test::flood", 6.1),
            (true, 100 - LINES_PER_SECOND as u64)
        );
    }
}
