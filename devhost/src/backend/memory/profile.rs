//! Profile images (`GetProfileImage`, `SetProfileImage`).

use mattermost_plugin_api::pb;

use super::State;
use super::codec::{PNG_SIGNATURE, sha1_hex, solid_png};
use super::errors::{Fault, Outcome, TOO_LARGE};
use super::files::MAX_FILE_SIZE;

/// Side of the default image, in pixels.
const DEFAULT_IMAGE_SIZE: u32 = 16;

/// Leading bytes of the image formats a server decodes for profile pictures.
const IMAGE_MAGIC: &[&[u8]] = &[
    PNG_SIGNATURE,
    b"\xff\xd8\xff", // JPEG
    b"GIF87a",
    b"GIF89a",
    b"BM", // BMP
];

fn is_image(data: &[u8]) -> bool {
    IMAGE_MAGIC.iter().any(|magic| data.starts_with(magic))
        || (data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP")
}

/// A user's default picture: one colour taken from their id, so it is the same on every
/// call and differs between most users. (A server draws their initials instead.)
pub(super) fn default_profile_image(user: &pb::User) -> Vec<u8> {
    let digest = sha1_hex(user.id.as_bytes());
    let byte = |i: usize| u8::from_str_radix(&digest[i..i + 2], 16).unwrap_or(0x80);
    solid_png(DEFAULT_IMAGE_SIZE, [byte(0), byte(2), byte(4)])
}

impl State {
    /// `GetProfileImage`: the stored picture, or the default one.
    pub(super) fn profile_image(&self, user_id: &str) -> Outcome<Vec<u8>> {
        let user = self.user(user_id)?;
        Ok(self
            .profile_images
            .get(user_id)
            .cloned()
            .unwrap_or_else(|| default_profile_image(user)))
    }

    /// `SetProfileImage`: PNG, JPEG, GIF, BMP or WebP data (recognised by its first bytes,
    /// not decoded) up to the file size limit; records the time on the user.
    pub(super) fn set_profile_image(&mut self, user_id: &str, data: Vec<u8>) -> Outcome<()> {
        self.user(user_id)?;
        if data.len() > MAX_FILE_SIZE {
            return Err(Fault::new(
                TOO_LARGE,
                "api.user.upload_profile_user.too_large.app_error",
                "the image is larger than the file size limit",
            ));
        }
        if !is_image(&data) {
            return Err(Fault::bad_request(
                "api.user.upload_profile_user.decode.app_error",
                "the data is not a PNG, JPEG, GIF, BMP or WebP image",
            ));
        }
        let now = self.now();
        if let Some(user) = self.users.get_mut(user_id) {
            user.last_picture_update = now;
        }
        self.profile_images.insert(user_id.to_string(), data);
        Ok(())
    }
}
