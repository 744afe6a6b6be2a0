// The archive `cargo xtask bundle` makes, installed the way a stock server installs an
// uploaded plugin and started with Mattermost's own plugin package: the shim creates the
// plugin's virtualenv from the bundled wheels on first activation (no network), reuses it on
// the next, and fails activation with a clear error when the host has no Python.
//
// Run through `cargo test -p xtask bundle`, which builds the bundle of examples/hello and
// passes the archive's path in SHIM_BUNDLE.
package mmhost

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/utils"
)

// What the hello plugin calls in OnActivate.
func (a *fakeAPI) EnsureBotUser(bot *model.Bot) (string, error) {
	a.record("EnsureBotUser " + bot.Username)
	return "botbotbotbotbotbotbotbotbo", nil
}

func (a *fakeAPI) RegisterCommand(command *model.Command) error {
	a.record("RegisterCommand " + command.Trigger)
	return nil
}

// installBundle does what the server does with an uploaded bundle (its app package's
// extractPlugin and installExtractedPlugin): extract the archive (regular files with their
// modes, directories), descend into the single top-level directory, read the manifest with
// model.FindManifest, check the id, and copy the directory to <plugins>/<id> with
// utils.CopyDir. Returns the plugins directory and the plugin's directory.
func installBundle(t *testing.T, archive string) (pluginDir, dir string, manifest *model.Manifest) {
	t.Helper()
	extracted := t.TempDir()
	f, err := os.Open(archive)
	must(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		target := filepath.Join(extracted, filepath.Clean(hdr.Name))
		if !strings.HasPrefix(target, extracted+string(os.PathSeparator)) {
			t.Fatalf("%s escapes the extraction directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			must(t, os.MkdirAll(target, 0o755))
		case tar.TypeReg:
			must(t, os.MkdirAll(filepath.Dir(target), 0o755))
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode))
			must(t, err)
			_, err = io.Copy(out, tr)
			must(t, err)
			must(t, out.Close())
		default:
			t.Fatalf("%s: entry type %c in a bundle", hdr.Name, hdr.Typeflag)
		}
	}
	top, err := os.ReadDir(extracted)
	must(t, err)
	if len(top) != 1 || !top[0].IsDir() {
		t.Fatalf("the bundle should hold one top-level directory, has %v", top)
	}
	from := filepath.Join(extracted, top[0].Name())
	manifest, _, err = model.FindManifest(from)
	must(t, err)
	if !model.IsValidPluginId(manifest.Id) {
		t.Fatalf("invalid plugin id %q", manifest.Id)
	}
	if top[0].Name() != manifest.Id {
		t.Fatalf("top-level directory %q is not the plugin id %q", top[0].Name(), manifest.Id)
	}
	pluginDir = t.TempDir()
	dir = filepath.Join(pluginDir, manifest.Id)
	must(t, utils.CopyDir(from, dir))
	return pluginDir, dir, manifest
}

func bundleArchive(t *testing.T) string {
	t.Helper()
	archive := os.Getenv("SHIM_BUNDLE")
	if archive == "" {
		t.Skip("SHIM_BUNDLE is not set: run through `cargo test -p xtask bundle`")
	}
	// The shim's and the runtime's sockets go to TMPDIR.
	t.Setenv("TMPDIR", t.TempDir())
	return archive
}

func TestUploadedBundle(t *testing.T) {
	archive := bundleArchive(t)
	pluginDir, dir, manifest := installBundle(t, archive)
	if exe := manifest.GetExecutableForRuntime("linux", "amd64"); exe != "server/dist/mm-python-shim-linux-amd64" {
		t.Fatalf("linux-amd64 executable %q", exe)
	}
	api := &fakeAPI{}
	env := environment(t, api, pluginDir)

	// First activation: the shim creates the virtualenv from the bundled wheels.
	start := time.Now()
	if _, activated, err := env.Activate(manifest.Id); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	first := time.Since(start)
	t.Logf("first activation (virtualenv created from the wheels) took %v", first)
	if _, err := os.Stat(filepath.Join(dir, ".venv", ".mm-python-shim-wheels")); err != nil {
		t.Fatalf("no virtualenv in the bundle directory: %v", err)
	}
	if calls := strings.Join(api.Calls(), ","); !strings.Contains(calls, "EnsureBotUser hello-bot") || !strings.Contains(calls, "RegisterCommand hello") {
		t.Fatalf("OnActivate's API calls: %s", calls)
	}

	hooks, err := env.HooksForPlugin(manifest.Id)
	must(t, err)
	got, reason := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Id: "postpostpostpostpostpostpo", UserId: adaID, Message: "hi"})
	if reason != "" || got == nil || got.Message != "hi 👋" || got.Id != "postpostpostpostpostpostpo" {
		t.Fatalf("MessageWillBePosted: %+v %q", got, reason)
	}
	got, reason = hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "buy SPAM"})
	if reason != "Hello does not let spam through." {
		t.Fatalf("MessageWillBePosted (spam): %+v %q", got, reason)
	}
	if !env.Deactivate(manifest.Id) {
		t.Fatal("Deactivate returned false")
	}

	// Second activation: the virtualenv is reused.
	start = time.Now()
	if _, activated, err := env.Activate(manifest.Id); err != nil || !activated {
		t.Fatalf("second Activate: activated=%v err=%v", activated, err)
	}
	t.Logf("second activation (virtualenv reused) took %v", time.Since(start))
	hooks, err = env.HooksForPlugin(manifest.Id)
	must(t, err)
	if got, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "again"}); got == nil || got.Message != "again 👋" {
		t.Fatalf("MessageWillBePosted after reactivation: %+v", got)
	}
	env.Shutdown()
}

// No Python on the host: activation fails, naming what is missing.
func TestUploadedBundleWithoutPython(t *testing.T) {
	archive := bundleArchive(t)
	pluginDir, dir, manifest := installBundle(t, archive)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("MM_PYTHON_SHIM_PYTHON", "")
	env := environment(t, &fakeAPI{}, pluginDir)
	start := time.Now()
	_, activated, err := env.Activate(manifest.Id)
	if err == nil || activated {
		t.Fatalf("Activate succeeded without Python (activated=%v)", activated)
	}
	t.Logf("activation failed in %v: %v", time.Since(start), err)
	if !strings.Contains(fmt.Sprint(err), "no Python >= 3.10") {
		t.Fatalf("the activation error does not say Python is missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".venv")); err == nil {
		t.Fatal("a virtualenv was left behind")
	}
	env.Shutdown()
}
