//! Unitree's CRC32: the message's C image read as little-endian u32 words, each word fed
//! most-significant bit first into a CRC with polynomial 0x04C11DB7, initial value 0xFFFFFFFF,
//! no reflection and no final XOR — i.e. CRC-32/MPEG-2 over every word's big-endian bytes.

const POLY: u32 = 0x04C1_1DB7;

/// Byte-wise table for the MSB-first (non-reflected) CRC.
const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut b = 0;
        while b < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ POLY
            } else {
                c << 1
            };
            b += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32/MPEG-2 of a byte string (the catalogue's form of the same CRC).
pub fn crc32_mpeg2(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0xFFFF_FFFF, |crc, &byte| {
        (crc << 8) ^ TABLE[((crc >> 24) as u8 ^ byte) as usize]
    })
}

/// CRC over whole u32 words, each processed most-significant byte first.
pub fn crc32_words(words: impl IntoIterator<Item = u32>) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for w in words {
        for byte in w.to_be_bytes() {
            crc = (crc << 8) ^ TABLE[((crc >> 24) as u8 ^ byte) as usize];
        }
    }
    crc
}

/// CRC over `bytes` read as little-endian u32 words (`bytes.len()` must be a multiple of 4).
pub fn crc32_bytes_le_words(bytes: &[u8]) -> u32 {
    assert!(
        bytes.len().is_multiple_of(4),
        "the CRC runs over whole 32-bit words ({} bytes given)",
        bytes.len()
    );
    crc32_words(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-serial form Unitree documents, written out literally: the table must agree.
    fn bitwise(words: &[u32]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &data in words {
            for bit in (0..32).rev() {
                let top = crc & 0x8000_0000 != 0;
                crc <<= 1;
                if top {
                    crc ^= POLY;
                }
                if data >> bit & 1 == 1 {
                    crc ^= POLY;
                }
            }
        }
        crc
    }

    #[test]
    fn table_matches_bit_serial() {
        let words: Vec<u32> = (0..300u32)
            .map(|i| i.wrapping_mul(2_654_435_761) ^ 0xDEAD_BEEF)
            .collect();
        for n in [0, 1, 2, 7, 250, 300] {
            assert_eq!(
                crc32_words(words[..n].iter().copied()),
                bitwise(&words[..n])
            );
        }
    }

    #[test]
    fn mpeg2_catalogue_check_value() {
        // The CRC catalogue's check value of CRC-32/MPEG-2 over ASCII "123456789".
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
        // Word-wise = MPEG-2 over each word's big-endian bytes.
        let w = [u32::from_be_bytes(*b"1234"), u32::from_be_bytes(*b"5678")];
        assert_eq!(crc32_words(w), crc32_mpeg2(b"12345678"));
        assert_eq!(crc32_words(w), bitwise(&w));
    }
}
