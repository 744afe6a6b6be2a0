// FileWillBeUploaded through the shim, called as the server calls it: the file served on one
// broker stream, the replacement copied from another, the outcome in the reply.
package mmhost

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The plugin's behaviour is picked by the file's name.
const uploadPluginPy = `import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator

from mattermost_plugin import Plugin, UploadWriter, hook, run_plugin
from mattermost_plugin_api import models

HERE = os.path.dirname(os.path.abspath(__file__))


class Uploads(Plugin):
    @hook
    async def file_will_be_uploaded(
        self,
        context: models.PluginContext | None,
        info: models.FileInfo | None,
        file: AsyncIterator[bytes],
        output: UploadWriter,
    ) -> tuple[models.FileInfo | None, str]:
        assert info is not None
        if info.name.endswith(".exe"):
            return None, f"no executables ({info.name})"
        if info.name.startswith("inspect"):
            # Reads the whole file and writes nothing: the server keeps what was uploaded.
            digest, size, chunks = hashlib.sha256(), 0, 0
            async for chunk in file:
                digest.update(chunk)
                size += len(chunk)
                chunks += 1
            with open(os.path.join(HERE, "inspected"), "w") as f:
                f.write(f"{size} {chunks} {digest.hexdigest()}")
            return None, ""
        if info.name == "boom.txt":
            raise RuntimeError("boom")
        if info.name == "broken.txt":
            # A FileInfo the SDK cannot send (its size is no number), so the call fails in the
            # child. (A result of the wrong type is the SDK's own rejection instead.)
            return dataclasses.replace(info, size="no size"), ""
        if info.name == "halfway.txt":
            async for chunk in file:
                await output.write(chunk)
                break
            return dataclasses.replace(info, size="no size"), ""
        size = 0
        async for chunk in file:
            size += len(chunk)
            await output.write(chunk.upper())
        request = context.request_id if context is not None else ""
        return dataclasses.replace(info, name="UPPER-" + info.name, size=size, mime_type="text/x-upper; " + request), ""

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        return dataclasses.replace(post, message=post.message + " (still serving)"), ""


run_plugin(Uploads)
`

// upload calls the hook as the server does, failing the test if it does not return in time.
func upload(t *testing.T, hooks plugin.Hooks, c *plugin.Context, info *model.FileInfo, data []byte) (*model.FileInfo, string, []byte) {
	t.Helper()
	type result struct {
		info   *model.FileInfo
		reason string
	}
	var out bytes.Buffer
	done := make(chan result, 1)
	go func() {
		got, reason := hooks.FileWillBeUploaded(c, info, bytes.NewReader(data), &out)
		done <- result{got, reason}
	}()
	select {
	case r := <-done:
		return r.info, r.reason, out.Bytes()
	case <-time.After(60 * time.Second):
		t.Fatalf("FileWillBeUploaded(%s) did not return", info.Name)
		return nil, "", nil
	}
}

// text is n bytes of lowercase ASCII lines, the same for every run.
func text(n int) []byte {
	r := rand.New(rand.NewSource(42))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789 .,"
	b := make([]byte, n)
	for i := range b {
		if i%80 == 79 {
			b[i] = '\n'
		} else {
			b[i] = letters[r.Intn(len(letters))]
		}
	}
	return b
}

func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func TestFileWillBeUploaded(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(uploadPluginPy), 0o644))
	env := environment(t, &fakeAPI{}, pluginDir)
	if _, activated, err := env.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	defer env.Shutdown()
	hooks, err := env.HooksForPlugin(pluginID)
	must(t, err)
	// The shim announces the hook, or the server would never call it.
	implemented, err := hooks.Implemented()
	must(t, err)
	if !slices.Contains(implemented, "FileWillBeUploaded") {
		t.Fatalf("Implemented: %q", implemented)
	}

	rewrite := func(t *testing.T, name string, size int) {
		t.Helper()
		data := text(size)
		info := &model.FileInfo{Id: "fileidfileidfileidfileidfi", CreatorId: adaID, Name: name, Extension: "txt", Size: int64(len(data)), MimeType: "text/plain"}
		got, reason, out := upload(t, hooks, &plugin.Context{RequestId: "up-req"}, info, data)
		if reason != "" || got == nil {
			t.Fatalf("rewrite %s: %+v %q", name, got, reason)
		}
		if !bytes.Equal(out, asciiUpper(data)) {
			t.Fatalf("rewrite %s: replacement of %d bytes differs from the uppercased %d bytes", name, len(out), len(data))
		}
		if got.Name != "UPPER-"+name || got.Size != int64(len(data)) || got.MimeType != "text/x-upper; up-req" ||
			got.Id != info.Id || got.CreatorId != adaID || got.Extension != "txt" {
			t.Fatalf("rewrite %s: info %+v", name, got)
		}
	}

	t.Run("rewrite", func(t *testing.T) {
		// Several 64 KiB chunks each way, the last one short.
		rewrite(t, "notes.txt", 3<<20+12345)
	})

	t.Run("reject", func(t *testing.T) {
		// Rejected before the file is read: the shim stops reading it.
		for _, size := range []int{2, 3 << 20} {
			info := &model.FileInfo{Name: "setup.exe", Size: int64(size)}
			got, reason, out := upload(t, hooks, &plugin.Context{}, info, text(size))
			if reason != "no executables (setup.exe)" || len(out) != 0 {
				t.Fatalf("reject %d: %+v %q (%d bytes out)", size, got, reason, len(out))
			}
		}
	})

	t.Run("inspect only", func(t *testing.T) {
		for _, size := range []int{0, 2 << 16, 300_001} {
			data := text(size)
			info := &model.FileInfo{Id: "inspectinspectinspectinspe", Name: fmt.Sprintf("inspect-%d.txt", size), Size: int64(size), MimeType: "text/plain"}
			got, reason, out := upload(t, hooks, &plugin.Context{}, info, data)
			// Nothing written: the server keeps the file; no info: it keeps its own.
			if reason != "" || len(out) != 0 {
				t.Fatalf("inspect %d: %q, %d bytes out", size, reason, len(out))
			}
			if got == nil || got.Name != info.Name || got.Id != info.Id || got.Size != int64(size) || got.MimeType != "text/plain" {
				t.Fatalf("inspect %d: info %+v", size, got)
			}
			seen, err := os.ReadFile(filepath.Join(dir, "inspected"))
			must(t, err)
			sum := sha256.Sum256(data)
			chunks := (size + 65535) / 65536
			if want := fmt.Sprintf("%d %d %s", size, chunks, hex.EncodeToString(sum[:])); string(seen) != want {
				t.Fatalf("inspect %d: the plugin saw %q, want %q", size, seen, want)
			}
		}
	})

	t.Run("handler raises", func(t *testing.T) {
		// The SDK answers a failed handler by rejecting the upload.
		info := &model.FileInfo{Name: "boom.txt", Size: 5}
		got, reason, out := upload(t, hooks, &plugin.Context{}, info, []byte("hello"))
		if !strings.HasPrefix(reason, "plugin error:") || !strings.Contains(reason, "boom") || len(out) != 0 {
			t.Fatalf("raise: %+v %q (%d bytes out)", got, reason, len(out))
		}
	})

	t.Run("call fails", func(t *testing.T) {
		// The child's call fails before any replacement byte: the server's default.
		info := &model.FileInfo{Id: "brokenbrokenbrokenbrokenbr", Name: "broken.txt", Size: 5}
		got, reason, out := upload(t, hooks, &plugin.Context{}, info, []byte("hello"))
		if reason != "" || len(out) != 0 || got == nil || got.Name != "broken.txt" || got.Id != info.Id {
			t.Fatalf("failed call: %+v %q (%d bytes out)", got, reason, len(out))
		}
	})

	t.Run("call fails midway", func(t *testing.T) {
		// Part of a replacement reached the server: the upload is rejected, not truncated.
		data := text(200_000)
		info := &model.FileInfo{Name: "halfway.txt", Size: int64(len(data))}
		got, reason, out := upload(t, hooks, &plugin.Context{}, info, data)
		if reason != "plugin FileWillBeUploaded failed while writing a replacement file" || !bytes.Equal(out, data[:65536]) {
			t.Fatalf("failed midway: %+v %q (%d bytes out)", got, reason, len(out))
		}
	})

	t.Run("still serving", func(t *testing.T) {
		post, reason := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "hi"})
		if reason != "" || post == nil || post.Message != "hi (still serving)" {
			t.Fatalf("MessageWillBePosted after the failures: %+v %q", post, reason)
		}
		rewrite(t, "again.txt", 1000)
	})

	// Uploads in parallel on the one hooks stream.
	t.Run("concurrent", func(t *testing.T) {
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				data := text(100_000 + i)
				var out bytes.Buffer
				got, reason := hooks.FileWillBeUploaded(&plugin.Context{}, &model.FileInfo{Name: fmt.Sprintf("c%d.txt", i)}, bytes.NewReader(data), &out)
				switch {
				case reason != "" || got == nil || got.Name != fmt.Sprintf("UPPER-c%d.txt", i):
					errs <- fmt.Errorf("upload %d: %+v %q", i, got, reason)
				case !bytes.Equal(out.Bytes(), asciiUpper(data)):
					errs <- fmt.Errorf("upload %d: replacement differs", i)
				default:
					errs <- nil
				}
			}()
		}
		for range 8 {
			select {
			case err := <-errs:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("concurrent uploads did not return")
			}
		}
	})
}
