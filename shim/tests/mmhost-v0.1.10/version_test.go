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
