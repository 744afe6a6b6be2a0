//! `Plugin.FileWillBeUploaded` as Mattermost's plugin side serves it (`hooksRPCServer` in
//! `plugin/client_rpc.go`, the file reader in `plugin/io_rpc.go`), carried to the child's
//! streaming `file_will_be_uploaded` (file chunks in; replacement chunks, then the outcome,
//! out).
//!
//! The server sends the plugin context and the file's info with two broker ids it is already
//! accepting, for 5 s only: `UploadedFileStream`, where it serves the file on demand
//! ([`RemoteReader`]), and `ReplacementFileStream`, which it copies into its replacement
//! buffer until this side closes it. Both are dialed at once, before the child is asked
//! anything. The file goes to the child in chunks of at most 64 KiB, no faster than the child
//! takes them, and each replacement chunk is written to the server as it arrives, so neither
//! is ever held whole here.
//!
//! The reply is the child's outcome: its replacement info (none: the server keeps its own)
//! and rejection reason. The server uses the replacement bytes only if some were written. The
//! replacement stream is always half-closed before the reply, so the server's copy ends.
//!
//! A failing child (the call or its stream fails, or the stream ends without an outcome) is
//! logged with the hook's name and answered as the server does for a plugin that does not
//! implement the hook: the info unchanged and no rejection. Once replacement bytes have
//! reached the server that would make it store a truncated replacement, so a failure after
//! that rejects the upload instead.

use std::sync::Arc;

use futures_util::StreamExt;
use gobwire::Gob;
use mattermost_plugin_api::{ApiError, BoxStream, CallContext, PluginHooks, pb};
use mattermost_plugin_gob::model::{FileInfo, PluginContext};
use mattermost_plugin_gob::netrpc::FILE_UPLOAD_STREAM_HOOKS;
use mattermost_plugin_runtime::http_bridge::drain;
use tokio::io::AsyncWriteExt;

use crate::broker::MuxBroker;
use crate::mux;
use crate::remote_reader::RemoteReader;
use crate::rpc::{MethodError, Service};

/// `Z_FileWillBeUploadedArgs`.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_FileWillBeUploadedArgs")]
pub struct FileWillBeUploadedArgs {
    #[gob(name = "A")]
    pub context: Option<PluginContext>,
    #[gob(name = "B")]
    pub info: Option<FileInfo>,
    #[gob(name = "UploadedFileStream")]
    pub uploaded_file_stream: u32,
    #[gob(name = "ReplacementFileStream")]
    pub replacement_file_stream: u32,
}

/// `Z_FileWillBeUploadedReturns`: the replacement info (`nil`: keep the original) and the
/// rejection reason (empty: accept).
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Z_FileWillBeUploadedReturns")]
pub struct FileWillBeUploadedReturns {
    #[gob(name = "A")]
    pub info: Option<FileInfo>,
    #[gob(name = "B")]
    pub rejection: String,
}

/// Whether `hook` is one of the generated [`FILE_UPLOAD_STREAM_HOOKS`] (the generator's
/// `FileUploadStream` rows) that this module carries. The contract has a single file-upload
/// rpc (`PluginHooks::file_will_be_uploaded`), so only a table of exactly one row can be
/// served; anything else would route a hook to the wrong contract method.
pub fn carries(hook: &str) -> bool {
    FILE_UPLOAD_STREAM_HOOKS.len() == 1 && FILE_UPLOAD_STREAM_HOOKS.contains(&hook)
}

/// Adds `Plugin.<Hook>` for every hook in [`FILE_UPLOAD_STREAM_HOOKS`] this module carries;
/// any other is left out (so also out of `Implemented`) with a warning.
pub fn register_all<T: PluginHooks>(
    mut service: Service,
    broker: &MuxBroker,
    hooks: &Arc<T>,
) -> Service {
    for &hook in FILE_UPLOAD_STREAM_HOOKS {
        if !carries(hook) {
            tracing::warn!(
                "file upload hook {hook}: the contract has one file-upload rpc for {} such hooks; not carried",
                FILE_UPLOAD_STREAM_HOOKS.len()
            );
            continue;
        }
        let (broker, hooks) = (broker.clone(), hooks.clone());
        service = service.method(hook, move |args: FileWillBeUploadedArgs| {
            let (broker, hooks) = (broker.clone(), hooks.clone());
            async move { serve(hook, &broker, &*hooks, args).await }
        });
    }
    service
}

async fn serve<T: PluginHooks>(
    hook: &'static str,
    broker: &MuxBroker,
    hooks: &T,
    args: FileWillBeUploadedArgs,
) -> Result<FileWillBeUploadedReturns, MethodError> {
    // Both dials first: the server's Accepts give up after 5 s.
    let (upload, replacement) = tokio::join!(
        broker.dial(args.uploaded_file_stream),
        broker.dial(args.replacement_file_stream)
    );
    let (upload, mut replacement) = match (upload, replacement) {
        (Ok(upload), Ok(replacement)) => (upload, replacement),
        (upload, replacement) => {
            // As Go's plugin side: the call fails, and the server keeps the file as it is.
            let mut failures = Vec::new();
            if let Err(e) = &upload {
                failures.push(format!("the uploaded file stream: {e}"));
            }
            match replacement {
                Err(e) => failures.push(format!("the replacement file stream: {e}")),
                Ok(mut stream) => close(&mut stream, hook).await,
            }
            let message = format!("{hook}: can't connect to {}", failures.join("; "));
            tracing::error!("{message}");
            return Err(MethodError(message));
        }
    };
    let info = args.info;
    let first = pb::FileWillBeUploadedRequest {
        context: Some(
            args.context
                .map(pb::PluginContext::from)
                .unwrap_or_default(),
        ),
        info: Some(info.clone().map(pb::FileInfo::from).unwrap_or_default()),
        ..Default::default()
    };
    let frames: BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>> =
        Box::pin(futures_util::stream::once(async move { Ok(first) }).chain(file_frames(upload)));
    let mut wrote = false;
    let outcome = forward(hook, hooks, frames, &mut replacement, &mut wrote).await;
    // Go closes the replacement stream before replying; the server waits for its copy to end.
    close(&mut replacement, hook).await;
    drop(replacement);
    Ok(match outcome {
        Ok(returns) => returns,
        Err(e) if wrote => {
            tracing::error!(
                hook,
                "{e}; rejecting the upload, part of a replacement was sent"
            );
            FileWillBeUploadedReturns {
                info,
                rejection: format!("plugin {hook} failed while writing a replacement file"),
            }
        }
        Err(e) => {
            tracing::error!(hook, "{e}; the server keeps the file as uploaded");
            FileWillBeUploadedReturns {
                info,
                rejection: String::new(),
            }
        }
    })
}

/// Half-closes the replacement stream (yamux FIN, Go's `Close`), which ends the server's copy.
async fn close(stream: &mut mux::Stream, hook: &str) {
    if let Err(e) = stream.shutdown().await {
        tracing::debug!(hook, "closing the replacement file stream: {e}");
    }
}

/// The uploaded file as frames, then the frame that completes it.
fn file_frames(
    upload: mux::Stream,
) -> impl futures_util::Stream<Item = Result<pb::FileWillBeUploadedRequest, ApiError>> + Send + 'static
{
    let chunks = RemoteReader::new(Some(upload)).frames("the uploaded file", |chunk| {
        pb::FileWillBeUploadedRequest {
            file_chunk: chunk,
            ..Default::default()
        }
    });
    chunks.chain(futures_util::stream::once(async {
        Ok(pb::FileWillBeUploadedRequest {
            file_complete: true,
            ..Default::default()
        })
    }))
}

/// Runs the child's hook, writing its replacement chunks to `out` as they come; the outcome
/// once the child completes. `wrote` is set before the first replacement byte goes out.
async fn forward<T: PluginHooks>(
    hook: &str,
    hooks: &T,
    frames: BoxStream<Result<pb::FileWillBeUploadedRequest, ApiError>>,
    out: &mut mux::Stream,
    wrote: &mut bool,
) -> Result<FileWillBeUploadedReturns, String> {
    let ctx = CallContext::default();
    let mut responses = hooks
        .file_will_be_uploaded(&ctx, frames)
        .await
        .map_err(|e| format!("plugin {hook} failed: {e}"))?;
    while let Some(frame) = responses.next().await {
        let frame = frame.map_err(|e| format!("plugin {hook} failed midway: {e}"))?;
        if !frame.output_chunk.is_empty() {
            *wrote = true;
            out.write_all(&frame.output_chunk)
                .await
                .map_err(|e| format!("writing the replacement file to the server: {e}"))?;
        }
        if frame.complete {
            // Let the child's stream end on its own rather than cancelling it.
            drain(responses, String::new());
            return Ok(FileWillBeUploadedReturns {
                info: frame.replacement.map(FileInfo::from),
                rejection: frame.rejection_reason,
            });
        }
    }
    Err(format!("plugin {hook} ended without its outcome"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_upload_hook_is_carried() {
        // A second FileUploadStream row needs its own contract rpc before the shim can serve it.
        assert_eq!(
            FILE_UPLOAD_STREAM_HOOKS.len(),
            1,
            "{FILE_UPLOAD_STREAM_HOOKS:?}"
        );
        for hook in FILE_UPLOAD_STREAM_HOOKS {
            assert!(carries(hook), "{hook} is not carried");
        }
        assert!(!carries("ServeHTTP"));
    }
}
