// The archive `cargo xtask bundle` makes, installed the way a stock server installs an
// uploaded plugin and started with Mattermost's own plugin package: the shim answers
// Implemented from the hooks the bundle recorded at build time, starts Python in OnActivate
// with the interpreter the plugin's PythonInterpreter setting names (else python3 on PATH),
// creates the plugin's virtualenv from the bundled wheels on first activation (no network),
// reuses it on the next, and fails activation with a clear error when there is no Python.
//
// Run through `cargo test -p xtask bundle`, which builds the bundle of examples/hello and
// passes the archive's path in SHIM_BUNDLE.
package mmhost

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
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

// configuredAPI is the fake API with the plugin configuration a test chooses (the shim reads
// PythonInterpreter from it in OnActivate, and the SDK reads it too).
type configuredAPI struct {
	*fakeAPI
	config map[string]any
}

func (a *configuredAPI) LoadPluginConfiguration(dest any) error {
	a.record("LoadPluginConfiguration")
	b, err := json.Marshal(a.config)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dest)
}

// logBuffer collects the environment's log (the shim's lines among them) for a test to read.
type logBuffer struct {
	logger *mlog.Logger
	buf    *mlog.Buffer
}

func (l *logBuffer) String() string {
	_ = l.logger.Flush()
	return l.buf.String()
}

// bundleEnvironment is the harness's environment with any plugin.API, and its log kept.
func bundleEnvironment(t *testing.T, api plugin.API, pluginDir string) (*plugin.Environment, *logBuffer) {
	t.Helper()
	logger := mlog.CreateConsoleTestLogger(t)
	logs := &logBuffer{logger: logger, buf: &mlog.Buffer{}}
	must(t, mlog.AddWriterTarget(logger, logs.buf, false, mlog.StdAll...))
	env, err := plugin.NewEnvironment(
		func(*model.Manifest) plugin.API { return api },
		nil,
		pluginDir,
		t.TempDir(),
		logger,
		nil,
	)
	must(t, err)
	return env, logs
}

// The shim's line when it answers Implemented from the bundle's record.
const fromRecord = "answering Implemented from the bundle's hook record"

// realPython is a Python >= 3.10 of this machine, found before a test empties PATH: the
// interpreter itself (sys.executable), not a launcher such as pyenv's that needs PATH.
func realPython(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"python3", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import sys; print(sys.version_info[0] * 100 + sys.version_info[1], sys.executable)").Output()
		if err != nil {
			continue
		}
		version, executable, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if v, err := strconv.Atoi(version); err == nil && v >= 310 && filepath.IsAbs(executable) {
			return executable
		}
	}
	t.Skip("no Python >= 3.10 on PATH")
	return ""
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
	env, logs := bundleEnvironment(t, api, pluginDir)

	// First activation: the shim creates the virtualenv from the bundled wheels.
	start := time.Now()
	if _, activated, err := env.Activate(manifest.Id); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	first := time.Since(start)
	t.Logf("first activation (virtualenv created from the wheels) took %v", first)
	// Implemented came from the record, before Python was started.
	log := logs.String()
	answered, creating := strings.Index(log, fromRecord), strings.Index(log, "creating the plugin's Python environment")
	if answered < 0 || creating < 0 || answered > creating {
		t.Fatalf("Implemented was not answered from the record before Python started (at %d, venv at %d):\n%s", answered, creating, log)
	}
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
	env, logs := bundleEnvironment(t, &fakeAPI{}, pluginDir)
	start := time.Now()
	_, activated, err := env.Activate(manifest.Id)
	if err == nil || activated {
		t.Fatalf("Activate succeeded without Python (activated=%v)", activated)
	}
	t.Logf("activation failed in %v: %v", time.Since(start), err)
	// The setting is offered as a way out.
	if msg := fmt.Sprint(err); !strings.Contains(msg, "no Python >= 3.10") || !strings.Contains(msg, "PythonInterpreter") {
		t.Fatalf("the activation error does not say Python is missing: %v", err)
	}
	// Implemented was answered (from the record): OnActivate failed, with an [ERROR] line.
	if log := logs.String(); !strings.Contains(log, fromRecord) || !strings.Contains(log, "no Python >= 3.10") {
		t.Fatalf("the shim's log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(dir, ".venv")); err == nil {
		t.Fatal("a virtualenv was left behind")
	}
	env.Shutdown()
}

// No Python on PATH, but the plugin's PythonInterpreter setting names one (in lower case, as
// the server's configuration store may hold it): the plugin runs with it.
func TestUploadedBundleWithInterpreterSetting(t *testing.T) {
	archive := bundleArchive(t)
	python := realPython(t)
	pluginDir, dir, manifest := installBundle(t, archive)
	t.Setenv("PATH", t.TempDir())
	t.Setenv("MM_PYTHON_SHIM_PYTHON", "")
	api := &configuredAPI{fakeAPI: &fakeAPI{}, config: map[string]any{"greeting": "Hej", "pythoninterpreter": python}}
	env, logs := bundleEnvironment(t, api, pluginDir)
	start := time.Now()
	if _, activated, err := env.Activate(manifest.Id); err != nil || !activated {
		t.Fatalf("Activate with PythonInterpreter=%s: activated=%v err=%v", python, activated, err)
	}
	t.Logf("activated with PythonInterpreter=%s in %v", python, time.Since(start))
	if log := logs.String(); !strings.Contains(log, python) {
		t.Fatalf("the virtualenv was not made with %s:\n%s", python, log)
	}
	if _, err := os.Stat(filepath.Join(dir, ".venv", ".mm-python-shim-wheels")); err != nil {
		t.Fatalf("no virtualenv in the bundle directory: %v", err)
	}
	hooks, err := env.HooksForPlugin(manifest.Id)
	must(t, err)
	got, reason := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "set"})
	if reason != "" || got == nil || got.Message != "set 👋" {
		t.Fatalf("MessageWillBePosted: %+v %q", got, reason)
	}
	env.Shutdown()
}

// A record that no longer matches the plugin (edited after the build): the server goes by the
// record, and the shim warns once the plugin is up.
func TestUploadedBundleWithStaleRecord(t *testing.T) {
	archive := bundleArchive(t)
	pluginDir, dir, manifest := installBundle(t, archive)
	must(t, os.WriteFile(filepath.Join(dir, "server", "python-plugin.json"), []byte(`{"hooks": ["OnActivate", "MessageWillBePosted"]}`), 0o644))
	env, logs := bundleEnvironment(t, &fakeAPI{}, pluginDir)
	if _, activated, err := env.Activate(manifest.Id); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	if log := logs.String(); !strings.Contains(log, "differ from the bundle's record") || !strings.Contains(log, "ExecuteCommand") {
		t.Fatalf("no warning about the stale record:\n%s", log)
	}
	hooks, err := env.HooksForPlugin(manifest.Id)
	must(t, err)
	if got, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "still"}); got == nil || got.Message != "still 👋" {
		t.Fatalf("MessageWillBePosted: %+v", got)
	}
	env.Shutdown()
}

// The setting names an interpreter that is not there: activation fails at once, naming the
// setting and its value.
func TestUploadedBundleWithMissingInterpreter(t *testing.T) {
	archive := bundleArchive(t)
	pluginDir, dir, manifest := installBundle(t, archive)
	missing := filepath.Join(t.TempDir(), "python3.99")
	api := &configuredAPI{fakeAPI: &fakeAPI{}, config: map[string]any{"PythonInterpreter": missing}}
	env, _ := bundleEnvironment(t, api, pluginDir)
	start := time.Now()
	_, activated, err := env.Activate(manifest.Id)
	if err == nil || activated {
		t.Fatalf("Activate succeeded with PythonInterpreter=%s (activated=%v)", missing, activated)
	}
	took := time.Since(start)
	t.Logf("activation failed in %v: %v", took, err)
	if msg := fmt.Sprint(err); !strings.Contains(msg, "PythonInterpreter") || !strings.Contains(msg, missing) {
		t.Fatalf("the activation error does not name the setting and its value: %v", err)
	}
	if took > 5*time.Second {
		t.Fatalf("the failing activation took %v", took)
	}
	if _, err := os.Stat(filepath.Join(dir, ".venv")); err == nil {
		t.Fatal("a virtualenv was left behind")
	}
	env.Shutdown()
}
