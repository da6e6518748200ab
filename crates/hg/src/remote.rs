//! The G1 wireless remote as `LowState.wireless_remote[40]` carries it: a little-endian u16
//! button field at bytes 2–3 (byte 2 bits 0..7 = R1, L1, start, select, R2, L2, F1, F2; byte 3
//! bits 0..7 = A, B, X, Y, up, right, down, left) and f32 sticks lx @4, rx @8, ry @12, L2
//! analog @16, ly @20. Decoding for the bridge; encoding for the simulator's remote emulation.

/// Button bits, in the u16 read from bytes 2–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buttons(pub u16);

impl Buttons {
    pub const R1: u16 = 1 << 0;
    pub const L1: u16 = 1 << 1;
    pub const START: u16 = 1 << 2;
    pub const SELECT: u16 = 1 << 3;
    pub const R2: u16 = 1 << 4;
    pub const L2: u16 = 1 << 5;
    pub const F1: u16 = 1 << 6;
    pub const F2: u16 = 1 << 7;
    pub const A: u16 = 1 << 8;
    pub const B: u16 = 1 << 9;
    pub const X: u16 = 1 << 10;
    pub const Y: u16 = 1 << 11;
    pub const UP: u16 = 1 << 12;
    pub const RIGHT: u16 = 1 << 13;
    pub const DOWN: u16 = 1 << 14;
    pub const LEFT: u16 = 1 << 15;

    /// Names accepted in configuration ("L1+A"), in bit order.
    pub const NAMES: [(&'static str, u16); 16] = [
        ("R1", Self::R1),
        ("L1", Self::L1),
        ("start", Self::START),
        ("select", Self::SELECT),
        ("R2", Self::R2),
        ("L2", Self::L2),
        ("F1", Self::F1),
        ("F2", Self::F2),
        ("A", Self::A),
        ("B", Self::B),
        ("X", Self::X),
        ("Y", Self::Y),
        ("up", Self::UP),
        ("right", Self::RIGHT),
        ("down", Self::DOWN),
        ("left", Self::LEFT),
    ];

    /// True when every button of `chord` is held (others may be held too).
    pub fn holds(self, chord: u16) -> bool {
        chord != 0 && self.0 & chord == chord
    }

    /// Parses a chord such as `L1+A` (case-insensitive names, `+`-separated).
    pub fn parse_chord(s: &str) -> Result<u16, String> {
        let mut bits = 0;
        for part in s.split('+').map(str::trim) {
            let bit = Self::NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(part))
                .map(|(_, b)| *b)
                .ok_or_else(|| {
                    format!(
                        "unknown remote button `{part}` in `{s}` (known: {})",
                        Self::NAMES.map(|(n, _)| n).join(", ")
                    )
                })?;
            bits |= bit;
        }
        Ok(bits)
    }
}

/// The remote's decoded state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Remote {
    pub buttons: Buttons,
    pub lx: f32,
    pub rx: f32,
    pub ry: f32,
    pub l2: f32,
    pub ly: f32,
}

fn f32_at(b: &[u8; 40], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Remote {
    pub fn decode(bytes: &[u8; 40]) -> Self {
        Self {
            buttons: Buttons(u16::from_le_bytes([bytes[2], bytes[3]])),
            lx: f32_at(bytes, 4),
            rx: f32_at(bytes, 8),
            ry: f32_at(bytes, 12),
            l2: f32_at(bytes, 16),
            ly: f32_at(bytes, 20),
        }
    }

    pub fn encode(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[2..4].copy_from_slice(&self.buttons.0.to_le_bytes());
        for (at, v) in [
            (4, self.lx),
            (8, self.rx),
            (12, self.ry),
            (16, self.l2),
            (20, self.ly),
        ] {
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_match() {
        let standby = Buttons::parse_chord("L1+A").unwrap();
        assert_eq!(standby, Buttons::L1 | Buttons::A);
        assert!(Buttons(Buttons::L1 | Buttons::A | Buttons::UP).holds(standby));
        assert!(!Buttons(Buttons::A).holds(standby));
        assert!(!Buttons(0xFFFF).holds(0), "an empty chord never fires");
        let e = Buttons::parse_chord("L1+Q").unwrap_err();
        assert!(e.contains("`Q`"), "{e}");
    }

    #[test]
    fn remote_round_trip_and_byte_positions() {
        let r = Remote {
            buttons: Buttons(Buttons::R1 | Buttons::B),
            lx: 0.25,
            rx: -0.5,
            ry: 0.75,
            l2: 1.0,
            ly: -1.0,
        };
        let b = r.encode();
        assert_eq!(b[2], 0b0000_0001, "R1 is bit 0 of byte 2");
        assert_eq!(b[3], 0b0000_0010, "B is bit 1 of byte 3");
        assert_eq!(&b[20..24], &(-1.0f32).to_le_bytes());
        assert_eq!(Remote::decode(&b), r);
    }
}
