//! File routes: uploads stream through FileWillBeUploaded as they arrive, downloads ask
//! FileWillBeDownloaded first. The dev host takes the raw body with the name in the query
//! (`POST /api/v4/files?channel_id=…&filename=…`) rather than Mattermost's multipart form.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mattermost_plugin_api::pb;
// Frames carry at most this much of the file, as every stream in the contract does.
use mattermost_plugin_api::protocol::MAX_CHUNK;
use mattermost_plugin_api::{ApiError, PluginApi, PluginHooks};
use serde_json::{Value, json};

use super::{Shared, api_error, bad_request, rejected};
use crate::backend::memory::{MAX_FILE_SIZE, base_name, extension, mime_type};

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
    let declared_size: Option<u64> = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if declared_size.is_some_and(|size| size > MAX_FILE_SIZE as u64) {
        return too_large();
    }
    let name = base_name(filename).to_string();
    let ext = extension(&name);
    let draft = pb::FileInfo {
        mime_type: mime_type(&ext).to_string(),
        channel_id: channel_id.clone(),
        user_id: shared.seed.user.id.clone(),
        size: declared_size
            .and_then(|s| i64::try_from(s).ok())
            .unwrap_or_default(),
        name,
        extension: ext,
        ..Default::default()
    };

    // The body is read whole on its own task, and forwarded to the plugin when it takes uploads.
    let first = pb::FileWillBeUploadedRequest {
        context: Some(shared.plugin_context()),
        info: Some(draft.clone()),
        ..Default::default()
    };
    let (frames, reader) = read_upload(body, first);
    let outcome = if implemented {
        match run_upload_hook(&shared, frames).await {
            Ok(outcome) => Some(outcome),
            Err(e) => {
                reader.abort();
                return api_error(e);
            }
        }
    } else {
        drop(frames);
        None
    };
    let original = match reader.await {
        Ok(Ok(original)) => original,
        // Whatever the plugin said was about a partial file.
        Ok(Err(BodyFailure::TooLarge)) => return too_large(),
        Ok(Err(BodyFailure::Read(reason))) => {
            return bad_request(format!("reading the upload: {reason}"));
        }
        Err(e) => {
            return api_error(ApiError::app(
                500,
                "devhost.upload",
                format!("reading the upload: {e}"),
            ));
        }
    };
    let (data, stored_name) = match outcome {
        Some(outcome) if !outcome.rejection.is_empty() => {
            return rejected(StatusCode::BAD_REQUEST, outcome.rejection);
        }
        Some(outcome) => (
            if outcome.output.is_empty() {
                original
            } else {
                outcome.output
            },
            outcome
                .replacement
                .map(|info| info.name)
                .filter(|n| !n.is_empty())
                .unwrap_or(draft.name),
        ),
        None => (original, draft.name),
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

/// Why an upload's body did not arrive whole.
enum BodyFailure {
    Read(String),
    TooLarge,
}

fn too_large() -> Response {
    api_error(ApiError::app(
        413,
        "api.file.upload_file.too_large_detailed.app_error",
        format!("the file is larger than the {MAX_FILE_SIZE}-byte limit"),
    ))
}

type UploadFrames =
    mattermost_plugin_api::BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>>;

/// Reads the whole body on its own task and returns it, forwarding it meanwhile as request
/// frames: the first carries context and info, each at most MAX_CHUNK of the file, the last is
/// marked complete. Once nobody takes the frames (the plugin answered before the file ended, or
/// does not take uploads) the task keeps reading, so the original is always whole. A body error
/// or an oversized body ends both early.
fn read_upload(
    body: Body,
    first: pb::FileWillBeUploadedRequest,
) -> (
    UploadFrames,
    tokio::task::JoinHandle<Result<Vec<u8>, BodyFailure>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let reader = tokio::spawn(async move {
        let mut first = Some(first);
        let mut forwarding = true;
        let mut original = Vec::new();
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            let failure = match chunk {
                Err(e) => BodyFailure::Read(e.to_string()),
                Ok(bytes) if original.len() + bytes.len() > MAX_FILE_SIZE => BodyFailure::TooLarge,
                Ok(bytes) => {
                    original.extend_from_slice(&bytes);
                    let mut rest: Bytes = bytes;
                    while forwarding && !rest.is_empty() {
                        let mut frame = first.take().unwrap_or_default();
                        frame.file_chunk = rest.split_to(rest.len().min(MAX_CHUNK)).to_vec();
                        forwarding = tx.send(Ok(frame)).await.is_ok();
                    }
                    continue;
                }
            };
            if forwarding {
                let (status, message) = match &failure {
                    BodyFailure::TooLarge => (413, "the file is too large".to_string()),
                    BodyFailure::Read(e) => (400, format!("reading the upload: {e}")),
                };
                let _ = tx
                    .send(Err(ApiError::app(status, "devhost.upload", message)))
                    .await;
            }
            return Err(failure);
        }
        if forwarding {
            // The complete frame carries context and info too when the file was empty.
            let mut frame = first.take().unwrap_or_default();
            frame.file_complete = true;
            let _ = tx.send(Ok(frame)).await;
        }
        Ok(original)
    });
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frame| (frame, rx))
    });
    (Box::pin(frames), reader)
}

async fn run_upload_hook(shared: &Shared, frames: UploadFrames) -> Result<Outcome, ApiError> {
    let mut responses = shared
        .hooks()
        .file_will_be_uploaded(&shared.ctx(), frames)
        .await?;
    let mut output = Vec::new();
    while let Some(frame) = responses.next().await {
        let frame = frame?;
        if output.len() + frame.output_chunk.len() > MAX_FILE_SIZE {
            return Err(ApiError::app(
                413,
                "devhost.upload",
                format!("FileWillBeUploaded wrote more than the {MAX_FILE_SIZE}-byte limit"),
            ));
        }
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
