//! Plain CDR (XCDR1, little endian) as ROS 2 middlewares put it on the wire and in bags: a 4-byte
//! encapsulation header, then every primitive aligned to its own size (at most 8) relative to the
//! end of that header; strings and sequences prefixed by a `u32` length (strings count their NUL).

use thiserror::Error;

/// Encapsulation header for little-endian plain CDR.
pub const CDR_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

#[derive(Debug, Error, PartialEq)]
pub enum CdrError {
    #[error("CDR payload too short: needed {needed} bytes at offset {offset}, {available} left")]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("unsupported CDR encapsulation {0:02x?} (expected little-endian plain CDR 00 01)")]
    Encapsulation([u8; 2]),
    #[error("string at offset {0} is not NUL-terminated UTF-8")]
    BadString(usize),
    #[error("sequence length {len} at offset {offset} exceeds the remaining payload")]
    BadLength { offset: usize, len: usize },
    #[error("fixed array field has {got} elements, the type needs {expected}")]
    ArrayLength { expected: usize, got: usize },
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
}

/// Serialiser into a growing buffer (header included).
pub struct CdrWriter {
    buf: Vec<u8>,
}

impl Default for CdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CdrWriter {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&CDR_LE_HEADER);
        Self { buf }
    }
    fn align(&mut self, n: usize) {
        let pos = self.buf.len() - 4;
        let pad = (n - pos % n) % n;
        self.buf.resize(self.buf.len() + pad, 0);
    }
    pub fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        self.align(N.min(8));
        self.buf.extend_from_slice(&bytes);
    }
    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    pub fn put_len(&mut self, n: usize) {
        self.put((n as u32).to_le_bytes());
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Deserialiser over a payload that starts with the encapsulation header.
pub struct CdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> CdrReader<'a> {
    pub fn new(buf: &'a [u8]) -> Result<Self, CdrError> {
        if buf.len() < 4 {
            return Err(CdrError::Truncated {
                offset: 0,
                needed: 4,
                available: buf.len(),
            });
        }
        if buf[0] != 0 || buf[1] != 1 {
            return Err(CdrError::Encapsulation([buf[0], buf[1]]));
        }
        Ok(Self { buf, pos: 4 })
    }
    fn align(&mut self, n: usize) {
        let rel = self.pos - 4;
        self.pos += (n - rel % n) % n;
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CdrError> {
        let available = self.buf.len().saturating_sub(self.pos);
        if available < n {
            return Err(CdrError::Truncated {
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn get<const N: usize>(&mut self) -> Result<[u8; N], CdrError> {
        self.align(N.min(8));
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// A sequence length, checked against the bytes left (each element needs ≥ `min_elem` bytes).
    pub fn get_len(&mut self, min_elem: usize) -> Result<usize, CdrError> {
        let offset = self.pos;
        let n = u32::from_le_bytes(self.get::<4>()?) as usize;
        if n.saturating_mul(min_elem) > self.buf.len().saturating_sub(self.pos) {
            return Err(CdrError::BadLength { offset, len: n });
        }
        Ok(n)
    }
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Errors unless the whole payload was consumed (up to 3 bytes of final padding allowed,
    /// as some writers pad the payload to a multiple of 4).
    pub fn finish(self) -> Result<(), CdrError> {
        let rest = self.buf.len() - self.pos;
        if rest > 3 || self.buf[self.pos..].iter().any(|&b| b != 0) {
            return Err(CdrError::Trailing(rest));
        }
        Ok(())
    }
}

/// A type that has a CDR encoding (primitives, strings, sequences, arrays, messages).
pub trait CdrField: Sized {
    fn write(&self, w: &mut CdrWriter);
    fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError>;
    /// Lower bound of the encoded size, used to reject absurd sequence lengths early.
    const MIN_SIZE: usize = 1;
}

macro_rules! prim {
    ($($t:ty),*) => {$(
        impl CdrField for $t {
            fn write(&self, w: &mut CdrWriter) {
                w.put(self.to_le_bytes());
            }
            fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError> {
                Ok(<$t>::from_le_bytes(r.get()?))
            }
            const MIN_SIZE: usize = std::mem::size_of::<$t>();
        }
    )*};
}
prim!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl CdrField for bool {
    fn write(&self, w: &mut CdrWriter) {
        w.put([*self as u8]);
    }
    fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        Ok(r.get::<1>()?[0] != 0)
    }
}

impl CdrField for String {
    fn write(&self, w: &mut CdrWriter) {
        w.put_len(self.len() + 1);
        w.put_bytes(self.as_bytes());
        w.put_bytes(&[0]);
    }
    fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        let n = r.get_len(1)?;
        let at = r.position();
        if n == 0 {
            // Some writers encode the empty string as length 0 without a NUL.
            return Ok(String::new());
        }
        let b = r.take(n)?;
        if b[n - 1] != 0 {
            return Err(CdrError::BadString(at));
        }
        String::from_utf8(b[..n - 1].to_vec()).map_err(|_| CdrError::BadString(at))
    }
    const MIN_SIZE: usize = 4;
}

impl<T: CdrField> CdrField for Vec<T> {
    fn write(&self, w: &mut CdrWriter) {
        w.put_len(self.len());
        for x in self {
            x.write(w);
        }
    }
    fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        let n = r.get_len(T::MIN_SIZE)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::read(r)?);
        }
        Ok(v)
    }
    const MIN_SIZE: usize = 4;
}

impl<T: CdrField, const N: usize> CdrField for [T; N] {
    fn write(&self, w: &mut CdrWriter) {
        for x in self {
            x.write(w);
        }
    }
    fn read(r: &mut CdrReader<'_>) -> Result<Self, CdrError> {
        let mut v = Vec::with_capacity(N);
        for _ in 0..N {
            v.push(T::read(r)?);
        }
        v.try_into().map_err(|v: Vec<T>| CdrError::ArrayLength {
            expected: N,
            got: v.len(),
        })
    }
    const MIN_SIZE: usize = N * T::MIN_SIZE;
}

/// Serialises a value with the encapsulation header.
pub fn to_cdr<T: CdrField>(v: &T) -> Vec<u8> {
    let mut w = CdrWriter::new();
    v.write(&mut w);
    w.finish()
}

/// Deserialises a whole payload (header included), rejecting trailing garbage.
pub fn from_cdr<T: CdrField>(bytes: &[u8]) -> Result<T, CdrError> {
    let mut r = CdrReader::new(bytes)?;
    let v = T::read(&mut r)?;
    r.finish()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_relative_to_the_payload() {
        // u8 then f64: 7 bytes of padding after the header.
        let mut w = CdrWriter::new();
        1u8.write(&mut w);
        2.0f64.write(&mut w);
        let b = w.finish();
        assert_eq!(b.len(), 4 + 8 + 8);
        assert_eq!(&b[4..12], &[1, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = CdrReader::new(&b).unwrap();
        assert_eq!(u8::read(&mut r).unwrap(), 1);
        assert_eq!(f64::read(&mut r).unwrap(), 2.0);
    }

    #[test]
    fn string_counts_its_nul() {
        let b = to_cdr(&"ab".to_string());
        assert_eq!(&b[4..], &[3, 0, 0, 0, b'a', b'b', 0]);
        assert_eq!(from_cdr::<String>(&b).unwrap(), "ab");
    }

    #[test]
    fn truncation_and_absurd_lengths_are_errors() {
        let b = to_cdr(&vec![1.0f64, 2.0, 3.0]);
        assert!(matches!(
            from_cdr::<Vec<f64>>(&b[..b.len() - 1]),
            Err(CdrError::Truncated { .. })
        ));
        let mut bad = b.clone();
        bad[4..8].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(matches!(
            from_cdr::<Vec<f64>>(&bad),
            Err(CdrError::BadLength { .. })
        ));
        assert!(matches!(
            from_cdr::<Vec<f64>>(&[0, 0, 0, 0, 0, 0, 0, 0]),
            Err(CdrError::Encapsulation(_))
        ));
    }
}
