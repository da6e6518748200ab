//! The G1's `unitree_hg` low-level protocol beyond the DDS types themselves (those live in
//! `g1_msgs::unitree`):
//!
//! * the C-struct image of `LowCmd` (1004 bytes) and `LowState` (2092 bytes) — natural
//!   alignment, zeroed padding — over which the robot computes its CRC32 ([`layout`]);
//! * the CRC32 itself ([`crc`]) and signing / checking ([`sign_low_cmd`], [`check_low_state`]);
//! * the 40-byte wireless-remote field: buttons and sticks, decoding and encoding ([`remote`]).
//!
//! Nothing here does I/O; the bridge and simulator nodes call it on every message.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod crc;
pub mod layout;
pub mod remote;

use g1_msgs::unitree::{LowCmd, LowState};

pub use crc::crc32_words;
pub use layout::{low_cmd_bytes, low_state_bytes, LOW_CMD_SIZE, LOW_STATE_SIZE};
pub use remote::{Buttons, Remote};

/// The CRC a `LowCmd` must carry (computed over its C image, its own `crc` word excluded).
pub fn low_cmd_crc(cmd: &LowCmd) -> u32 {
    crc::crc32_bytes_le_words(&low_cmd_bytes(cmd)[..LOW_CMD_SIZE - 4])
}

/// The CRC a `LowState` must carry.
pub fn low_state_crc(state: &LowState) -> u32 {
    crc::crc32_bytes_le_words(&low_state_bytes(state)[..LOW_STATE_SIZE - 4])
}

/// Writes the CRC into `cmd.crc` (the last thing to do before publishing).
pub fn sign_low_cmd(cmd: &mut LowCmd) {
    cmd.crc = low_cmd_crc(cmd);
}

/// Writes the CRC into `state.crc` (the simulator signs what it publishes, like the robot).
pub fn sign_low_state(state: &mut LowState) {
    state.crc = low_state_crc(state);
}

/// A message whose CRC does not match its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} CRC mismatch: carried {carried:#010x}, computed {computed:#010x}")]
pub struct CrcMismatch {
    pub what: &'static str,
    pub carried: u32,
    pub computed: u32,
}

/// Checks a received `LowState`; a mismatch must be dropped (and counted), never acted on.
pub fn check_low_state(state: &LowState) -> Result<(), CrcMismatch> {
    let computed = low_state_crc(state);
    if computed == state.crc {
        Ok(())
    } else {
        Err(CrcMismatch {
            what: "LowState",
            carried: state.crc,
            computed,
        })
    }
}

/// Checks a received `LowCmd` (the simulator node does, as the robot's firmware does).
pub fn check_low_cmd(cmd: &LowCmd) -> Result<(), CrcMismatch> {
    let computed = low_cmd_crc(cmd);
    if computed == cmd.crc {
        Ok(())
    } else {
        Err(CrcMismatch {
            what: "LowCmd",
            carried: cmd.crc,
            computed,
        })
    }
}
