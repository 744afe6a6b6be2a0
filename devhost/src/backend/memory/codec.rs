//! The two byte formats the model has to produce itself: SHA-1 (group channel names are a
//! SHA-1 of their members; not used for security) and a PNG (default profile images).

use sha1::{Digest, Sha1};

/// The lowercase hex SHA-1 digest of `data`.
pub(super) fn sha1_hex(data: &[u8]) -> String {
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `size`×`size` PNG of one RGB colour.
pub(super) fn solid_png(size: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels = rgb.repeat(size as usize * size as usize);
    // Writing to memory with a valid header and the exact pixel count cannot fail.
    let mut writer = encoder.write_header().expect("a PNG header in memory");
    writer
        .write_image_data(&pixels)
        .expect("pixels matching the header");
    writer.finish().expect("the PNG's end in memory");
    out
}

pub(super) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn png_has_signature_header_and_end() {
        let png = solid_png(4, [1, 2, 3]);
        assert!(png.starts_with(PNG_SIGNATURE));
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[16..24], &[0, 0, 0, 4, 0, 0, 0, 4]);
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
    }
}
