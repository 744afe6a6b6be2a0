//! Uploaded files: their `FileInfo` and bytes.

use std::sync::Arc;

use mattermost_plugin_api::pb;

use super::State;
use super::errors::{Fault, Outcome, TOO_LARGE};
use super::ids::{new_id, require_id};

/// `FileSettings.MaxFileSize` default (100 MiB).
pub(crate) const MAX_FILE_SIZE: usize = 100 * 1024 * 1024;
/// Plugin uploads have no team and no uploading user (the server's placeholders).
const NO_TEAM: &str = "noteam";
const NO_USER: &str = "nouser";

/// A file's metadata and content. Copies made by `CopyFileInfos` share the bytes, as they
/// share the stored object on a real server.
pub(super) struct StoredFile {
    pub(super) info: pb::FileInfo,
    data: Arc<[u8]>,
}

fn file_not_found(id: &str) -> Fault {
    Fault::not_found("app.file_info.get.app_error", "no such file").detail(format!("file_id={id}"))
}

/// The last path component, so a name cannot smuggle in directories.
pub(crate) fn base_name(filename: &str) -> &str {
    filename.rsplit(['/', '\\']).next().unwrap_or(filename)
}

/// The lowercase extension without the dot, or empty.
pub(crate) fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_lowercase(),
        _ => String::new(),
    }
}

/// A small table of common types; unknown extensions get no type, as Go's `mime` gives.
pub(crate) fn mime_type(extension: &str) -> &'static str {
    match extension {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "txt" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "",
    }
}

impl State {
    fn stored_file(&self, id: &str) -> Outcome<&StoredFile> {
        require_id("file_id", id)?;
        self.files.get(id).ok_or_else(|| file_not_found(id))
    }

    /// `UploadFile`: a file in a channel, not yet attached to a post.
    pub(super) fn upload_file(
        &mut self,
        data: Vec<u8>,
        channel_id: &str,
        filename: &str,
    ) -> Outcome<pb::FileInfo> {
        self.channel(channel_id)?;
        let name = base_name(filename);
        if name.is_empty() || name == "." || name == ".." {
            return Err(Fault::bad_request(
                "api.file.upload_file.bad_name.app_error",
                "the file needs a name",
            ));
        }
        if data.len() > MAX_FILE_SIZE {
            return Err(Fault::new(
                TOO_LARGE,
                "api.file.upload_file.too_large_detailed.app_error",
                format!("{name} is larger than the {MAX_FILE_SIZE}-byte limit"),
            ));
        }
        let id = new_id();
        let now = self.now();
        let extension = extension(name);
        let info = pb::FileInfo {
            path: format!("teams/{NO_TEAM}/channels/{channel_id}/users/{NO_USER}/{id}/{name}"),
            id,
            user_id: NO_USER.to_string(),
            channel_id: channel_id.to_string(),
            create_at: now,
            update_at: now,
            name: name.to_string(),
            mime_type: mime_type(&extension).to_string(),
            extension,
            size: data.len() as i64,
            ..Default::default()
        };
        let stored = StoredFile {
            info: info.clone(),
            data: data.into(),
        };
        self.files.insert(info.id.clone(), stored);
        Ok(info)
    }

    pub(super) fn file_info(&self, id: &str) -> Outcome<pb::FileInfo> {
        Ok(self.stored_file(id)?.info.clone())
    }

    pub(super) fn file_data(&self, id: &str) -> Outcome<Vec<u8>> {
        Ok(self.stored_file(id)?.data.to_vec())
    }

    /// `CopyFileInfos`: new, unattached infos owned by `user_id` over the same bytes. All
    /// ids are checked before anything is copied.
    pub(super) fn copy_file_infos(
        &mut self,
        user_id: &str,
        file_ids: &[String],
    ) -> Outcome<Vec<String>> {
        self.user(user_id)?;
        let originals: Vec<(pb::FileInfo, Arc<[u8]>)> = file_ids
            .iter()
            .map(|id| {
                self.stored_file(id)
                    .map(|f| (f.info.clone(), Arc::clone(&f.data)))
            })
            .collect::<Outcome<_>>()?;
        let now = self.now();
        let mut new_ids = Vec::with_capacity(originals.len());
        for (mut info, data) in originals {
            info.id = new_id();
            info.user_id = user_id.to_string();
            info.post_id.clear();
            info.create_at = now;
            info.update_at = now;
            info.delete_at = 0;
            new_ids.push(info.id.clone());
            self.files
                .insert(info.id.clone(), StoredFile { info, data });
        }
        Ok(new_ids)
    }

    /// Links a post's not-yet-attached files to it (and to its channel).
    pub(super) fn attach_files(&mut self, post: &pb::Post) {
        for id in &post.file_ids {
            if let Some(file) = self.files.get_mut(id)
                && file.info.post_id.is_empty()
            {
                file.info.post_id = post.id.clone();
                file.info.channel_id = post.channel_id.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name(r"C:\x\report.PDF"), "report.PDF");
        assert_eq!(extension("report.PDF"), "pdf");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("noext"), "");
        assert_eq!(mime_type("png"), "image/png");
    }
}
