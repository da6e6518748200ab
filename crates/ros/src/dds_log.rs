//! What the DDS stack logs (RustDDS and ros2-client speak through the `log` crate), on stderr
//! when asked: `G1D_DDS_LOG=error|warn|info|debug|trace` (unset or `off`: nothing). Discovery,
//! DDS Security handshakes and key exchange report their failures only there.

use std::sync::OnceLock;
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLog;

/// When the logger was installed: each line carries the seconds since.
static START: OnceLock<Instant> = OnceLock::new();

impl Log for StderrLog {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }

    fn log(&self, r: &Record) {
        if self.enabled(r.metadata()) {
            let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
            eprintln!("[dds {t:.3} {} {}] {}", r.level(), r.target(), r.args());
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
}
