// The API methods that carry byte streams, called by the Python plugin through the shim and
// answered by a fake API behind Mattermost's own apiRPCServer: InstallPlugin and UploadData
// (the plugin serves the bytes on a broker stream the server pulls) and PluginHTTP (the
// streamed form, or the buffered one on servers without PluginHTTPStream).
package mmhost

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// The post's message picks what the plugin calls; the answer comes back as the message.
const streamsPluginPy = `import dataclasses
import hashlib

from mattermost_plugin import Plugin, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api._pb import api_pb2, common_pb2
from mattermost_plugin_api.errors import PluginAPIError


def pattern(n: int) -> bytes:
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def pieces(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def broken(data: bytes):
    yield data[:100_000]
    yield data[100_000:200_000]
    raise RuntimeError("the source broke")


class Streams(Plugin):
    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        what, _, arg = post.message.partition(" ")
        try:
            text = self.run(what, arg)
        except PluginAPIError as e:
            text = f"{type(e).__name__} {e.status_code} {e.id} {e.message}"
        except Exception as e:  # noqa: BLE001 - reported to the test
            text = f"failed {type(e).__name__}"
        return dataclasses.replace(post, message=text), ""

    def run(self, what: str, arg: str) -> str:
        if what == "install":
            data = pattern(int(arg))
            m = self.api.install_plugin(replace=True, file=pieces(data, 100_000))
            return f"installed {m.id} {m.version}"
        if what == "install-refused":
            m = self.api.install_plugin(replace=False, file=pieces(pattern(int(arg)), 65536))
            return f"installed {m.id}"
        if what == "install-broken":
            m = self.api.install_plugin(replace=True, file=broken(pattern(int(arg))))
            return f"installed {m.id} {m.version}"
        if what == "install-empty":
            m = self.api.install_plugin(replace=True, file=iter(()))
            return f"installed {m.id} {m.version}"
        if what == "upload":
            name, _, size = arg.partition(" ")
            us = models.UploadSession(id="us-" + name, filename=name, file_size=int(size))
            info = self.api.upload_data(us=us, rd=pieces(pattern(int(size)), 77_777))
            return f"uploaded {info.id} {info.name} {info.size}"
        if what == "shared":
            info = self.api.receive_shared_channel_attachment_sync_msg(
                remote_id="r1", channel_id="c1", fi=models.FileInfo(id="f1", name="a.bin"), data=pieces(pattern(int(arg)), 65536)
            )
            return f"received {info.id} {info.name} {info.size}"
        if what == "http":
            size, _, path = arg.partition(" ")
            return self.http(int(size), path or "/plugins/other/echo")
        raise ValueError(what)

    def http(self, size: int, path: str) -> str:
        body = pattern(size)

        def frames():
            yield api_pb2.PluginHTTPRequest(
                head=common_pb2.HttpRequestHead(
                    method="POST",
                    url=path + "?x=1",
                    proto="HTTP/1.1",
                    headers=[
                        common_pb2.HttpHeader(name="x-test", values=["one", "two"]),
                        common_pb2.HttpHeader(name="Content-Type", values=["application/octet-stream"]),
                    ],
                    host="mm.example.com",
                    request_uri=path + "?x=1",
                    content_length=size,
                ),
                body_chunk=body[:1000],
            )
            for piece in pieces(body[1000:], 50_000):
                yield api_pb2.PluginHTTPRequest(body_chunk=piece)
            yield api_pb2.PluginHTTPRequest(body_complete=True)

        status, headers, data, chunks, complete = 0, {}, bytearray(), 0, False
        for frame in self.api.plugin_http(frames=frames()):
            if frame.HasField("head"):
                status = frame.head.status_code
                headers = {h.name: list(h.values) for h in frame.head.headers}
            if frame.body_chunk:
                assert len(frame.body_chunk) <= 65536, len(frame.body_chunk)
                data += frame.body_chunk
                chunks += 1
            if frame.body_complete:
                complete = True
                break
        digest = hashlib.sha256(bytes(data)).hexdigest()
        return f"{status} {headers.get('X-Reply')} {headers.get('Content-Type')} {len(data)} {digest} {chunks > 1} {complete}"


run_plugin(Streams)
`

// pattern is the plugin's pattern(n).
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// streamsAPI checks what arrives byte for byte and answers from the same pattern.
type streamsAPI struct {
	*fakeAPI
	mu   sync.Mutex
	seen []string
}

func (a *streamsAPI) note(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, s)
}

func (a *streamsAPI) notes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

func (a *streamsAPI) InstallPlugin(file io.Reader, replace bool) (*model.Manifest, *model.AppError) {
	if !replace {
		// Refused without reading: the plugin's stream must end cleanly anyway.
		a.note("InstallPlugin refused")
		return nil, model.NewAppError("InstallPlugin", "app.plugin.install_id.app_error", nil, "", http.StatusBadRequest)
	}
	data, err := io.ReadAll(file)
	if err != nil {
		a.note(fmt.Sprintf("InstallPlugin read error after %d bytes", len(data)))
		return nil, model.NewAppError("InstallPlugin", "app.plugin.read.app_error", nil, err.Error(), http.StatusInternalServerError)
	}
	a.note(fmt.Sprintf("InstallPlugin %d exact=%v", len(data), bytes.Equal(data, pattern(len(data)))))
	return &model.Manifest{Id: "com.example.installed", Version: fmt.Sprint(len(data))}, nil
}

func (a *streamsAPI) UploadData(us *model.UploadSession, rd io.Reader) (*model.FileInfo, error) {
	if us.Filename == "gone.bin" {
		a.note("UploadData gone")
		return nil, &plugin.ErrorString{Err: "upload session " + us.Id + " is gone"}
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, &plugin.ErrorString{Err: err.Error()}
	}
	a.note(fmt.Sprintf("UploadData %s %d exact=%v", us.Id, len(data), bytes.Equal(data, pattern(len(data))) && int64(len(data)) == us.FileSize))
	return &model.FileInfo{Id: "file-" + us.Id, Name: us.Filename, Size: int64(len(data))}, nil
}

// ReceiveSharedChannelAttachmentSyncMsg is newer than server/public v0.1.x: there the call
// never reaches this fake.
func (a *streamsAPI) ReceiveSharedChannelAttachmentSyncMsg(remoteID, channelID string, fi *model.FileInfo, data io.Reader) (*model.FileInfo, error) {
	b, err := io.ReadAll(data)
	if err != nil {
		return nil, &plugin.ErrorString{Err: err.Error()}
	}
	a.note(fmt.Sprintf("ReceiveSharedChannelAttachmentSyncMsg %s %s %s %d exact=%v", remoteID, channelID, fi.Id, len(b), bytes.Equal(b, pattern(len(b)))))
	return &model.FileInfo{Id: fi.Id, Name: fi.Name, Size: int64(len(b))}, nil
}

// pluginHTTPResponse is the other plugin's answer: several 64 KiB chunks' worth.
var pluginHTTPResponse = pattern(300_001)

func (a *streamsAPI) PluginHTTP(r *http.Request) *http.Response {
	switch r.URL.Path {
	case "/plugins/other/none":
		// Only the streamed form survives this: the buffered one dereferences the response.
		a.note("PluginHTTP none")
		return nil
	case "/plugins/other/unread":
		a.note("PluginHTTP unread")
		return &http.Response{StatusCode: http.StatusAccepted, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("not read"))}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		a.note("PluginHTTP read error: " + err.Error())
		return nil
	}
	streamed := strings.Contains(fmt.Sprintf("%T", r.Body), "remoteIOReader")
	a.note(fmt.Sprintf("PluginHTTP %s %s %s %q %q %s %d exact=%v streamed=%v",
		r.Method, r.URL.Path, r.URL.Query().Get("x"), r.Header.Values("X-Test"), r.Header.Get("Content-Type"),
		r.Host, len(data), bytes.Equal(data, pattern(len(data))), streamed))
	header := http.Header{}
	header.Add("X-Reply", "a")
	header.Add("X-Reply", "b")
	header.Set("Content-Type", "application/x-test")
	return &http.Response{
		StatusCode: http.StatusMultiStatus,
		Header:     header,
		Body:       io.NopCloser(bytes.NewReader(pluginHTTPResponse)),
	}
}

// environmentWith is environment for an API of this file's.
func environmentWith(t *testing.T, api plugin.API, pluginDir string) *plugin.Environment {
	t.Helper()
	env, err := plugin.NewEnvironment(
		func(*model.Manifest) plugin.API { return api },
		nil,
		pluginDir,
		t.TempDir(),
		mlog.CreateConsoleTestLogger(t),
		nil,
	)
	must(t, err)
	return env
}

func TestAPIStreams(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(streamsPluginPy), 0o644))
	api := &streamsAPI{fakeAPI: &fakeAPI{}}
	e := environmentWith(t, api, pluginDir)
	if _, activated, err := e.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	defer e.Shutdown()
	hooks, err := e.HooksForPlugin(pluginID)
	must(t, err)
	ask := func(message string) string {
		t.Helper()
		post, reason := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Message: message})
		if post == nil {
			t.Fatalf("%s: rejected: %q", message, reason)
		}
		return post.Message
	}
	lastNote := func() string {
		notes := api.notes()
		if len(notes) == 0 {
			return ""
		}
		return notes[len(notes)-1]
	}
	// Waits (at most 2 s) for the server to finish what it may still be doing after the
	// plugin's call has already failed.
	settle := func(done func() bool) {
		for deadline := time.Now().Add(2 * time.Second); !done() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("InstallPlugin", func(t *testing.T) {
		const size = 5<<20 + 7
		if got, want := ask(fmt.Sprintf("install %d", size)), fmt.Sprintf("installed com.example.installed %d", size); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got, want := lastNote(), fmt.Sprintf("InstallPlugin %d exact=true", size); got != want {
			t.Fatalf("server saw %q, want %q", got, want)
		}
		if got, want := ask("install-empty"), "installed com.example.installed 0"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("InstallPluginAppError", func(t *testing.T) {
		// The server answers without reading the 4 MiB.
		if got, want := ask("install-refused 4194304"), "BadRequestError 400 app.plugin.install_id.app_error "; !strings.HasPrefix(got, want) {
			t.Fatalf("got %q, want prefix %q", got, want)
		}
		// The next call still works.
		if got, want := ask("install 70000"), "installed com.example.installed 70000"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("InstallPluginBrokenSource", func(t *testing.T) {
		// The plugin's bytes fail midway: the server must read an error, never a short file.
		before := len(api.notes())
		got := ask("install-broken 1000000")
		if !strings.HasPrefix(got, "failed ") && !strings.Contains(got, "Error") {
			t.Fatalf("got %q, want a failure", got)
		}
		// Either the server was reading when the bytes failed (it reads an error), or the stream
		// was reset before it dialed (its call fails without reaching the API): which one is a
		// race. Never may it take the bytes that came before the failure as a whole file.
		settle(func() bool { return len(api.notes()) > before })
		for _, n := range api.notes()[before:] {
			if strings.HasPrefix(n, "InstallPlugin ") && !strings.HasPrefix(n, "InstallPlugin read error after ") {
				t.Fatalf("the server took a short file: %q", n)
			}
		}
	})

	t.Run("UploadData", func(t *testing.T) {
		const size = 3<<20 + 1
		if got, want := ask(fmt.Sprintf("upload data.bin %d", size)), fmt.Sprintf("uploaded file-us-data.bin data.bin %d", size); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		if got, want := lastNote(), fmt.Sprintf("UploadData us-data.bin %d exact=true", size); got != want {
			t.Fatalf("server saw %q, want %q", got, want)
		}
		if got, want := ask("upload gone.bin 100000"), "GoError 0  upload session us-gone.bin is gone"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("ReceiveSharedChannelAttachmentSyncMsg", func(t *testing.T) {
		if got := ask("shared 123457"); got != sharedAttachmentAnswer {
			t.Fatalf("got %q, want %q", got, sharedAttachmentAnswer)
		}
		if strings.HasPrefix(sharedAttachmentAnswer, "received") {
			if got, want := lastNote(), "ReceiveSharedChannelAttachmentSyncMsg r1 c1 f1 123457 exact=true"; got != want {
				t.Fatalf("server saw %q, want %q", got, want)
			}
		}
	})

	t.Run("PluginHTTP", func(t *testing.T) {
		const size = 2<<20 + 3
		want := fmt.Sprintf("207 ['a', 'b'] ['application/x-test'] %d %s True True", len(pluginHTTPResponse), sha(pluginHTTPResponse))
		if got := ask(fmt.Sprintf("http %d", size)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		wantNote := fmt.Sprintf(`PluginHTTP POST /plugins/other/echo 1 ["one" "two"] "application/octet-stream" mm.example.com %d exact=true streamed=%v`, size, pluginHTTPStreams)
		if got := lastNote(); got != wantNote {
			t.Fatalf("server saw %q, want %q", got, wantNote)
		}
	})

	t.Run("PluginHTTPUnreadBody", func(t *testing.T) {
		// The other plugin answers without reading the 3 MiB body.
		if got, want := ask("http 3145728 /plugins/other/unread"), fmt.Sprintf("202 None None 8 %s False True", sha([]byte("not read"))); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("PluginHTTPNoResponse", func(t *testing.T) {
		if !pluginHTTPStreams {
			t.Skip("this release's buffered PluginHTTP fails on a nil response in the server")
		}
		if got, want := ask("http 10 /plugins/other/none"), "TransportError 0  PluginHTTP: the server returned no response"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 12)
		for i := 0; i < 4; i++ {
			wg.Add(3)
			go func(i int) {
				defer wg.Done()
				size := 300_000 + i
				post, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Message: fmt.Sprintf("install %d", size)})
				if want := fmt.Sprintf("installed com.example.installed %d", size); post == nil || post.Message != want {
					errs <- fmt.Sprintf("install %d: %v", size, post)
				}
			}(i)
			go func(i int) {
				defer wg.Done()
				size := 200_000 + i
				post, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Message: fmt.Sprintf("upload c%d.bin %d", i, size)})
				if want := fmt.Sprintf("uploaded file-us-c%d.bin c%d.bin %d", i, i, size); post == nil || post.Message != want {
					errs <- fmt.Sprintf("upload %d: %v", size, post)
				}
			}(i)
			go func(i int) {
				defer wg.Done()
				post, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Message: fmt.Sprintf("http %d", 100_000+i)})
				if post == nil || !strings.HasPrefix(post.Message, "207 ") {
					errs <- fmt.Sprintf("http: %v", post)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		t.Logf("the server saw: %q", api.notes())
		for _, n := range api.notes() {
			if strings.Contains(n, "exact=false") || strings.Contains(n, "error") && !strings.Contains(n, "read error after") {
				t.Errorf("server saw %q", n)
			}
		}
	})
}
