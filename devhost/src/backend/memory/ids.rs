//! Mattermost ids: 26 characters, a random 128-bit value in Mattermost's base32 alphabet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::errors::{Fault, Outcome};

/// The base32 alphabet of Mattermost's `model.NewId` (lowercase letters and digits only, with
/// easily confused characters left out).
const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// Length of every Mattermost id.
pub const ID_LEN: usize = 26;

/// A new random id, as Mattermost's `model.NewId` makes them: a version-4 UUID encoded in
/// base32 without padding.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        fallback_random(&mut bytes);
    }
    // The UUID version and variant bits, so ids look exactly like the server's.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    encode(&bytes)
}

/// Whether `value` has the shape of an id: 26 lowercase ASCII letters or digits.
pub fn is_valid_id(value: &str) -> bool {
    value.len() == ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// 400 for a malformed id argument named `name`.
pub(super) fn require_id(name: &str, value: &str) -> Outcome<()> {
    if is_valid_id(value) {
        Ok(())
    } else {
        Err(Fault::invalid_param(name, value))
    }
}

fn encode(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(ID_LEN);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        // At most 12 bits are pending, so 16 bits of buffer are enough.
        buffer = ((buffer << 8) | u32::from(byte)) & 0xffff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(buffer >> bits));
        }
    }
    if bits > 0 {
        // The last partial group is padded with zero bits on the right.
        out.push(symbol(buffer << (5 - bits)));
    }
    out
}

fn symbol(index: u32) -> char {
    char::from(ALPHABET[(index & 0x1f) as usize])
}

/// Only used when the OS random source fails: distinct (not secret) bytes from the clock, a
/// process-wide counter and a splitmix64 scramble.
fn fallback_random(bytes: &mut [u8; 16]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut seed = nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
    for chunk in bytes.chunks_mut(8) {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn encoding_matches_the_alphabet() {
        assert_eq!(encode(&[0; 16]), "y".repeat(26));
        assert_eq!(encode(&[0xff; 16]), format!("{}h", "9".repeat(25)));
    }

    #[test]
    fn fallback_fills_distinct_bytes() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        fallback_random(&mut a);
        fallback_random(&mut b);
        assert_ne!(a, b);
    }
}
