package mmhost

// What differs between the server/public releases the harness runs against; the other test
// files are shared (mmhost-v0.1.10 links them).

import (
	"github.com/mattermost/mattermost/server/public/model"
)

// serverPublic is this module's server/public release (go-plugin 1.8).
const serverPublic = "v0.4.4"

// writerFlushes: the response writer served to ServeHTTP has Flush.
const writerFlushes = true

// newerMethodAnswer: DeleteGroup exists here, so the plugin's call reaches the fake API.
const newerMethodAnswer = "deleted Shim group"

func (a *fakeAPI) DeleteGroup(groupID string) (*model.Group, *model.AppError) {
	a.record("DeleteGroup " + groupID)
	return &model.Group{Id: groupID, DisplayName: "Shim group"}, nil
}

// pluginHTTPStreams: the server has PluginHTTPStream, so PluginHTTP's request body reaches it
// over a broker stream.
const pluginHTTPStreams = true

// sharedAttachmentAnswer: ReceiveSharedChannelAttachmentSyncMsg exists here, so its data
// stream reaches the fake API.
const sharedAttachmentAnswer = "received f1 a.bin 123457"
