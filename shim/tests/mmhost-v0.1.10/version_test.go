package mmhost

// What differs between the server/public releases the harness runs against; the other test
// files are links to ../mmhost.

// serverPublic is this module's server/public release (go-plugin 1.6).
const serverPublic = "v0.1.10"

// writerFlushes: this release's response writer has no Flush; the body still arrives whole.
const writerFlushes = false

// newerMethodAnswer: DeleteGroup is not in this release's API, so the Python call raises
// NotImplementedByServerError, as it does on the dev host.
const newerMethodAnswer = "not implemented: 501 DeleteGroup"

// pluginHTTPStreams: this release has only the buffered PluginHTTP (no PluginHTTPStream), so
// the shim falls back to it and the request body arrives whole.
const pluginHTTPStreams = false

// sharedAttachmentAnswer: ReceiveSharedChannelAttachmentSyncMsg is not in this release's API.
// Its Go result is a plain error: the shim reports it as UNIMPLEMENTED, which Python raises
// as NotImplementedByServerError, as for any method the server lacks.
const sharedAttachmentAnswer = "NotImplementedByServerError 501 api.plugin.not_implemented.app_error ReceiveSharedChannelAttachmentSyncMsg is not implemented by this server"
