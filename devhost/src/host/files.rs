//! File routes: uploads stream through FileWillBeUploaded as they arrive, downloads ask
//! FileWillBeDownloaded first. The dev host takes the raw body with the name in the query
//! (`POST /api/v4/files?channel_id=…&filename=…`) rather than Mattermost's multipart form.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mattermost_plugin_api::pb;
use mattermost_plugin_api::{ApiError, PluginApi, PluginHooks};
use serde_json::{Value, json};

use super::{Shared, api_error, bad_request, rejected};
use crate::backend::memory::{base_name, extension, mime_type};

/// Frames carry at most this much of the file, as every stream in the contract does.
const MAX_CHUNK: usize = 64 * 1024;

fn file_json(info: &pb::FileInfo) -> Value {
    json!({
        "id": info.id, "name": info.name, "extension": info.extension, "size": info.size,
        "mime_type": info.mime_type, "channel_id": info.channel_id, "user_id": info.user_id,
    })
}

/// What the plugin made of an upload.
struct Outcome {
    replacement: Option<pb::FileInfo>,
    rejection: String,
    output: Vec<u8>,
}

/// FileWillBeUploaded (when the plugin implements it) → store.
pub(super) async fn upload_file(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Response {
    let Some(filename) = query.get("filename").filter(|f| !f.is_empty()) else {
        return bad_request("`filename` is required");
    };
    let channel_id = query
        .get("channel_id")
        .filter(|c| !c.is_empty())
        .unwrap_or(&shared.seed.channel.id)
        .clone();
    let hooks = shared.hooks();
    let ctx = shared.ctx();
    let implemented = match hooks.is_implemented("FileWillBeUploaded").await {
        Ok(implemented) => implemented,
        Err(e) => return api_error(e),
    };
    let name = base_name(filename).to_string();
    let ext = extension(&name);
    let draft = pb::FileInfo {
        mime_type: mime_type(&ext).to_string(),
        channel_id: channel_id.clone(),
        user_id: shared.seed.user.id.clone(),
        size: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
        name,
        extension: ext,
        ..Default::default()
    };

    // The original bytes are kept as they stream past: they are stored unless the plugin
    // writes a replacement.
    let original = Arc::new(Mutex::new(Vec::new()));
    let (data, stored_name) = if implemented {
        let body_failed = Arc::new(Mutex::new(None::<String>));
        let frames = upload_frames(
            body,
            pb::FileWillBeUploadedRequest {
                context: Some(shared.plugin_context()),
                info: Some(draft.clone()),
                ..Default::default()
            },
            original.clone(),
            body_failed.clone(),
        );
        let outcome = match run_upload_hook(&shared, frames).await {
            Ok(outcome) => outcome,
            Err(e) => return api_error(e),
        };
        if let Some(reason) = body_failed.lock().map(|f| f.clone()).unwrap_or(None) {
            return bad_request(format!("reading the upload: {reason}"));
        }
        if !outcome.rejection.is_empty() {
            return rejected(StatusCode::BAD_REQUEST, outcome.rejection);
        }
        let name = outcome
            .replacement
            .map(|info| info.name)
            .filter(|n| !n.is_empty())
            .unwrap_or(draft.name);
        let data = if outcome.output.is_empty() {
            std::mem::take(&mut *original.lock().unwrap_or_else(|p| p.into_inner()))
        } else {
            outcome.output
        };
        (data, name)
    } else {
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (bytes.to_vec(), draft.name),
            Err(e) => return bad_request(format!("reading the upload: {e}")),
        }
    };
    match shared
        .backend
        .upload_file(&ctx, data, channel_id, stored_name)
        .await
    {
        Ok(Some(info)) => (StatusCode::CREATED, Json(file_json(&info))).into_response(),
        Ok(None) => api_error(ApiError::app(
            500,
            "app.file.upload",
            "the backend stored no file",
        )),
        Err(e) => api_error(e),
    }
}

/// The request frames: the first carries context and info, each at most MAX_CHUNK of the file,
/// and the last is marked complete. A body error ends the stream early and is recorded, so the
/// plugin's verdict on a partial file is thrown away.
fn upload_frames(
    body: Body,
    first: pb::FileWillBeUploadedRequest,
    original: Arc<Mutex<Vec<u8>>>,
    failed: Arc<Mutex<Option<String>>>,
) -> mattermost_plugin_api::BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>> {
    struct Upload {
        body: axum::body::BodyDataStream,
        first: Option<pb::FileWillBeUploadedRequest>,
        pending: VecDeque<Bytes>,
        done: bool,
    }
    let state = Upload {
        body: body.into_data_stream(),
        first: Some(first),
        pending: VecDeque::new(),
        done: false,
    };
    Box::pin(futures_util::stream::unfold(state, move |mut up| {
        let (original, failed) = (original.clone(), failed.clone());
        async move {
            loop {
                if up.done {
                    return None;
                }
                if let Some(part) = up.pending.pop_front() {
                    let mut frame = up.first.take().unwrap_or_default();
                    frame.file_chunk = part.to_vec();
                    return Some((Ok(frame), up));
                }
                match up.body.next().await {
                    Some(Ok(bytes)) => {
                        if let Ok(mut kept) = original.lock() {
                            kept.extend_from_slice(&bytes);
                        }
                        let mut rest = bytes;
                        while !rest.is_empty() {
                            up.pending
                                .push_back(rest.split_to(rest.len().min(MAX_CHUNK)));
                        }
                    }
                    Some(Err(e)) => {
                        up.done = true;
                        if let Ok(mut f) = failed.lock() {
                            *f = Some(e.to_string());
                        }
                        let error = ApiError::app(
                            400,
                            "devhost.upload",
                            format!("reading the upload: {e}"),
                        );
                        return Some((Err(error), up));
                    }
                    None => {
                        // The complete frame carries context and info too when the file was empty.
                        up.done = true;
                        let mut frame = up.first.take().unwrap_or_default();
                        frame.file_complete = true;
                        return Some((Ok(frame), up));
                    }
                }
            }
        }
    }))
}

async fn run_upload_hook(
    shared: &Shared,
    frames: mattermost_plugin_api::BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>>,
) -> Result<Outcome, ApiError> {
    let mut responses = shared
        .hooks()
        .file_will_be_uploaded(&shared.ctx(), frames)
        .await?;
    let mut output = Vec::new();
    while let Some(frame) = responses.next().await {
        let frame = frame?;
        output.extend_from_slice(&frame.output_chunk);
        if frame.complete {
            return Ok(Outcome {
                replacement: frame.replacement,
                rejection: frame.rejection_reason,
                output,
            });
        }
    }
    Err(ApiError::app(
        500,
        "devhost.upload",
        "FileWillBeUploaded ended without its outcome frame",
    ))
}

/// FileWillBeDownloaded (a non-empty answer refuses the download) → the stored bytes.
pub(super) async fn download_file(
    State(shared): State<Arc<Shared>>,
    UrlPath(file_id): UrlPath<String>,
) -> Response {
    let ctx = shared.ctx();
    let info = match shared.backend.get_file_info(&ctx, file_id.clone()).await {
        Ok(Some(info)) => info,
        Ok(None) => {
            return api_error(ApiError::app(
                404,
                "app.file.get",
                format!("no file {file_id}"),
            ));
        }
        Err(e) => return api_error(e),
    };
    let refusal = match shared
        .hooks()
        .file_will_be_downloaded(
            &ctx,
            Some(shared.plugin_context()),
            Some(info.clone()),
            shared.seed.user.id.clone(),
            "file".into(),
        )
        .await
    {
        Ok(refusal) => refusal,
        Err(e) => return api_error(e),
    };
    if !refusal.is_empty() {
        return rejected(StatusCode::FORBIDDEN, refusal);
    }
    match shared.backend.get_file(&ctx, file_id).await {
        Ok(data) => {
            let content_type = if info.mime_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                info.mime_type
            };
            ([(header::CONTENT_TYPE, content_type)], data).into_response()
        }
        Err(e) => api_error(e),
    }
}
