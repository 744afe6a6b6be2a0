// The Python shim (mm-python-shim) started by Mattermost's own plugin package, as a stock
// server starts plugins: plugin.NewEnvironment with a fake API, Activate (go-plugin start,
// handshake, Dispense, Implemented, OnActivate with the API served on the broker), hooks
// through the Environment, Deactivate (OnDeactivate, Control.Quit, process exit).
//
// Run through `cargo test -p mattermost-plugin-shim --test mattermost_host`, which builds the
// shim and passes its path in SHIM_PYTHON_SHIM and the repository's virtualenv (with the SDK
// installed) in SHIM_TEST_VENV.
package mmhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

const (
	pluginID      = "com.example.shimtest"
	adaID         = "adaadaadaadaadaadaadaadaad"
	serverVersion = "10.11.0-shimtest"
)

// The Python plugin under test: API calls in OnActivate and in a hook, a rejected post, an
// AppError from the server back as a Python exception, an OnActivate that can fail.
const pluginPy = `import dataclasses
import os

from mattermost_plugin import Plugin, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api.errors import NotFoundError, NotImplementedByServerError

HERE = os.path.dirname(os.path.abspath(__file__))


class ShimTest(Plugin):
    version = ""

    @hook
    def on_activate(self) -> None:
        with open(os.path.join(HERE, "pid"), "w") as f:
            f.write(str(os.getpid()))
        with open(os.path.join(HERE, "ppid"), "w") as f:
            f.write(str(os.getppid()))
        if os.path.exists(os.path.join(HERE, "refuse")):
            raise RuntimeError("refusing to activate: no configuration")
        self.version = self.api.get_server_version()

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        if "spam" in post.message:
            return None, "no spam here"
        if post.message == "newer":
            # DeleteGroup came after server/public v0.1.x.
            try:
                group = self.api.delete_group(group_id=post.channel_id)
            except NotImplementedByServerError as e:
                return dataclasses.replace(post, message=f"not implemented: {e.status_code} {e.method}"), ""
            return dataclasses.replace(post, message=f"deleted {group.display_name}"), ""
        try:
            user = self.api.get_user(user_id=post.user_id)
        except NotFoundError as e:
            return dataclasses.replace(post, message=f"unknown user: {e.status_code} {e.id}"), ""
        greeting = self.configuration.get("Greeting", "")
        text = f"{greeting} {post.message} from {user.username} <{user.email}> on {self.version}"
        return dataclasses.replace(post, message=text, props={**(post.props or {}), "checked": True}), ""

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        return models.CommandResponse(
            response_type="ephemeral",
            text=f"ran {args.command} in {args.channel_id}",
            props={"n": 2**53 + 1, "nested": {"list": [1, "two", True], "f": -0.5}},
            extra_responses=(models.CommandResponse(text="second"),),
        )

    @hook
    def user_has_joined_channel(self, channel_member: models.ChannelMember, actor: models.User | None) -> None:
        who = actor.username if actor is not None else "nobody"
        self.api.kv_set(key="joined", value=f"{channel_member.user_id} by {who}".encode() + b"\x00\xff")

    @hook
    def on_deactivate(self) -> None:
        with open(os.path.join(HERE, "deactivated"), "w") as f:
            f.write("yes")

    @hook
    async def serve_http(self, request, response) -> None:
        if request.method == "POST":
            # Echo the body back as it arrives, chunk by chunk.
            response.headers["Content-Type"] = ["application/octet-stream"]
            response.headers["X-Content-Length-In"] = [request.header("Content-Length") or ""]
            async for chunk in request.body:
                await response.write(chunk)
            return
        if request.url == "/bad-status":
            response.status = 42
            await response.write(b"no such status")
            return
        response.status = 201
        response.headers["content-type"] = ["text/plain; charset=utf-8"]
        response.headers["X-Multi"] = ["one", "two"]
        ctx = request.context.request_id if request.context else ""
        await response.write(f"served by python: {request.url} {request.header('X-Hello')} {ctx}".encode())
        await response.flush()
        await response.write(b" (and more)")

    @hook
    async def serve_metrics(self, request, response) -> None:
        response.headers["Content-Type"] = ["text/plain; version=0.0.4"]
        await response.write(b"shimtest_up 1\n")


run_plugin(ShimTest)
`

// fakeAPI answers the few API methods the plugin calls; any other method panics (nil
// embedded interface), which fails the test loudly.
type fakeAPI struct {
	plugin.API
	mu    sync.Mutex
	calls []string
	kv    map[string][]byte
}

func (a *fakeAPI) KVSet(key string, value []byte) *model.AppError {
	a.record("KVSet " + key)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kv == nil {
		a.kv = map[string][]byte{}
	}
	a.kv[key] = value
	return nil
}

func (a *fakeAPI) kvValue(key string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.kv[key]
}

func (a *fakeAPI) record(call string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, call)
}

func (a *fakeAPI) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func (a *fakeAPI) GetServerVersion() string {
	a.record("GetServerVersion")
	return serverVersion
}

func (a *fakeAPI) GetUser(userID string) (*model.User, *model.AppError) {
	a.record("GetUser " + userID)
	if userID == adaID {
		return &model.User{Id: adaID, Username: "ada", Email: "ada@example.com", CreateAt: 1700000000123, Roles: "system_user"}, nil
	}
	return nil, model.NewAppError("GetUser", "app.user.missing.app_error", nil, "id="+userID, http.StatusNotFound)
}

// LoadPluginConfiguration is what the SDK calls on every OnConfigurationChange.
func (a *fakeAPI) LoadPluginConfiguration(dest any) error {
	a.record("LoadPluginConfiguration")
	return json.Unmarshal([]byte(`{"Greeting": "Hej"}`), dest)
}

func (a *fakeAPI) LogDebug(msg string, keyValuePairs ...any) { a.record("LogDebug " + msg) }
func (a *fakeAPI) LogInfo(msg string, keyValuePairs ...any)  { a.record("LogInfo " + msg) }
func (a *fakeAPI) LogWarn(msg string, keyValuePairs ...any)  { a.record("LogWarn " + msg) }
func (a *fakeAPI) LogError(msg string, keyValuePairs ...any) { a.record("LogError " + msg) }

// bundle lays out the test plugin (pluginPy) as the server finds an installed one.
func bundle(t *testing.T) (pluginDir, dir, tmp string) {
	t.Helper()
	pluginDir, dir, tmp = shimPlugin(t, map[string]any{"id": pluginID, "name": "Shim test", "version": "0.1.0"})
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(pluginPy), 0o644))
	return pluginDir, dir, tmp
}

// shimPlugin lays out <pluginDir>/<id>/ for the manifest given (its "server" section is
// completed with the shim executables and plugin.py as the Python executable): plugin.json,
// the shim (a copy: go-plugin checksums the file and the shim finds its bundle from its own
// path) and .venv. The caller writes the plugin's Python files.
func shimPlugin(t *testing.T, manifest map[string]any) (pluginDir, dir, tmp string) {
	t.Helper()
	shim := os.Getenv("SHIM_PYTHON_SHIM")
	venv := os.Getenv("SHIM_TEST_VENV")
	if shim == "" || venv == "" {
		t.Fatal("SHIM_PYTHON_SHIM / SHIM_TEST_VENV are not set: run these tests with `cargo test -p mattermost-plugin-shim --test mattermost_host`")
	}
	pluginDir = t.TempDir()
	// The shim (go-plugin's socket) and the runtime (the child's and the API's socket
	// directories) work in TMPDIR: it must be empty again once the plugin is gone.
	tmp = t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Cleanup(func() {
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Errorf("left in TMPDIR: %q", names)
		}
	})
	dir = addShimPlugin(t, pluginDir, manifest, shim, venv)
	return pluginDir, dir, tmp
}

// addShimPlugin lays out <pluginDir>/<id>/ (see shimPlugin) and returns that directory.
func addShimPlugin(t *testing.T, pluginDir string, manifest map[string]any, shim, venv string) string {
	t.Helper()
	id, _ := manifest["id"].(string)
	if id == "" {
		t.Fatalf("the manifest has no id: %v", manifest)
	}
	dir := filepath.Join(pluginDir, id)
	must(t, os.MkdirAll(filepath.Join(dir, "server", "dist"), 0o755))
	server, _ := manifest["server"].(map[string]any)
	if server == nil {
		server = map[string]any{}
	}
	const exe = "server/dist/mm-python-shim"
	server["executables"] = map[string]string{"linux-amd64": exe, "linux-arm64": exe, "darwin-amd64": exe, "darwin-arm64": exe}
	server["runtime"] = "python"
	server["executable"] = "plugin.py"
	manifest["server"] = server
	b, err := json.MarshalIndent(manifest, "", "  ")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.json"), b, 0o644))
	must(t, os.Symlink(venv, filepath.Join(dir, ".venv")))
	copyFile(t, shim, filepath.Join(dir, "server", "dist", "mm-python-shim"))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}

// environment is Mattermost's plugin environment over the fake API (bundleEnvironment, its
// log kept aside).
func environment(t *testing.T, api *fakeAPI, pluginDir string) *plugin.Environment {
	t.Helper()
	env, _ := bundleEnvironment(t, api, pluginDir)
	return env
}

func readPid(t *testing.T, dir string) int {
	t.Helper()
	return readInt(t, filepath.Join(dir, "pid"))
}

// readShimPid is the Python child's parent: the shim.
func readShimPid(t *testing.T, dir string) int {
	t.Helper()
	return readInt(t, filepath.Join(dir, "ppid"))
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must(t, err)
	return pid
}

// alive: the process exists and is not a zombie waiting for its parent.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) == 0 || fields[0] != "Z"
}

func waitGone(t *testing.T, pid int, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("%s (pid %d) still runs after %v", what, pid, within)
	}
}

func TestPythonPluginOnMattermostsPluginEnvironment(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	api := &fakeAPI{}
	env := environment(t, api, pluginDir)

	start := time.Now()
	manifest, activated, err := env.Activate(pluginID)
	if err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	t.Logf("activated on server/public %s in %v", serverPublic, time.Since(start))
	if manifest.Id != pluginID {
		t.Fatalf("manifest id %q", manifest.Id)
	}
	// OnActivate's API call reached the fake API over the broker stream.
	if calls := api.Calls(); len(calls) != 2 || calls[0] != "LoadPluginConfiguration" || calls[1] != "GetServerVersion" {
		t.Fatalf("API calls after activation: %q", calls)
	}
	pid := readPid(t, dir)

	hooks, err := env.HooksForPlugin(pluginID)
	must(t, err)

	// A hook whose handler calls the API; the reply is merged into the post the server sent.
	post := &model.Post{Id: "postpostpostpostpostpostpo", UserId: adaID, ChannelId: "chanchanchanchanchanchanch", Message: "hello", CreateAt: 1700000000456}
	post.AddProp("kept", "yes")
	got, reason := hooks.MessageWillBePosted(&plugin.Context{RequestId: "req"}, post)
	if reason != "" || got == nil {
		t.Fatalf("MessageWillBePosted: %v %q", got, reason)
	}
	if want := "Hej hello from ada <ada@example.com> on " + serverVersion; got.Message != want {
		t.Fatalf("message %q, want %q", got.Message, want)
	}
	if got.Id != post.Id || got.UserId != adaID || got.CreateAt != 1700000000456 || got.GetProp("kept") != "yes" || got.GetProp("checked") != true {
		t.Fatalf("post not carried whole: %+v", got)
	}
	if calls := api.Calls(); len(calls) != 3 || calls[2] != "GetUser "+adaID {
		t.Fatalf("API calls: %q", calls)
	}

	// The server's AppError reaches Python as NotFoundError with its status and id.
	ghost := &model.Post{UserId: "ghostghostghostghostghostg", Message: "boo"}
	got, reason = hooks.MessageWillBePosted(&plugin.Context{}, ghost)
	if reason != "" || got == nil || got.Message != "unknown user: 404 app.user.missing.app_error" {
		t.Fatalf("MessageWillBePosted (missing user): %+v %q", got, reason)
	}

	// Rejected: the reason comes back; the post is the server's (nil in the reply).
	got, reason = hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: "buy spam"})
	if reason != "no spam here" {
		t.Fatalf("MessageWillBePosted (spam): %+v %q", got, reason)
	}

	// Concurrent hooks on the one hooks stream.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			msg := fmt.Sprintf("n%d", i)
			got, reason := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, Message: msg})
			if want := "Hej " + msg + " from ada <ada@example.com> on " + serverVersion; reason != "" || got == nil || got.Message != want {
				errs <- fmt.Errorf("concurrent %d: %+v %q", i, got, reason)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	// A method this server release may lack (see version_test.go).
	got, _ = hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{UserId: adaID, ChannelId: "groupgroupgroupgroupgroupg", Message: "newer"})
	if got == nil || got.Message != newerMethodAnswer {
		t.Fatalf("newer API method: %+v, want %q", got, newerMethodAnswer)
	}

	otherHooks(t, hooks, api)
	serveHTTP(t, hooks)

	// ServeMetrics takes the same path.
	w := httptest.NewRecorder()
	hooks.ServeMetrics(&plugin.Context{}, w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK || w.Body.String() != "shimtest_up 1\n" || w.Header().Get("Content-Type") != "text/plain; version=0.0.4" {
		t.Fatalf("ServeMetrics: %d %q %v", w.Code, w.Body.String(), w.Header())
	}

	must(t, env.PerformHealthCheck(pluginID))

	// Deactivate: OnDeactivate, then Control.Quit; the child is gone with the shim.
	start = time.Now()
	if !env.Deactivate(pluginID) {
		t.Fatal("Deactivate returned false")
	}
	took := time.Since(start)
	t.Logf("deactivated in %v", took)
	if _, err := os.Stat(filepath.Join(dir, "deactivated")); err != nil {
		t.Fatalf("OnDeactivate did not run: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("deactivation took %v: the shim did not exit within go-plugin's 2 s", took)
	}
	waitGone(t, pid, 2*time.Second, "the Python child")
	env.Shutdown()
}

// otherHooks: a hook with a struct result and nested values, and one without a result whose
// handler calls the API (a nil pointer argument arriving as None).
func otherHooks(t *testing.T, hooks plugin.Hooks, api *fakeAPI) {
	t.Helper()
	resp, appErr := hooks.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/shim go", ChannelId: "chanchanchanchanchanchanch"})
	if appErr != nil || resp == nil {
		t.Fatalf("ExecuteCommand: %+v %v", resp, appErr)
	}
	wantProps := model.StringInterface{"n": int64(1<<53 + 1), "nested": map[string]any{"list": []any{int64(1), "two", true}, "f": -0.5}}
	if resp.Text != "ran /shim go in chanchanchanchanchanchanch" || resp.ResponseType != "ephemeral" ||
		fmt.Sprintf("%#v", resp.Props) != fmt.Sprintf("%#v", wantProps) ||
		len(resp.ExtraResponses) != 1 || resp.ExtraResponses[0].Text != "second" || resp.ExtraResponses[0].Props != nil {
		t.Fatalf("ExecuteCommand: %+v (props %#v)", resp, resp.Props)
	}

	member := &model.ChannelMember{UserId: adaID, ChannelId: "chanchanchanchanchanchanch"}
	hooks.UserHasJoinedChannel(&plugin.Context{}, member, nil)
	if got := string(api.kvValue("joined")); got != adaID+" by nobody\x00\xff" {
		t.Fatalf("UserHasJoinedChannel without an actor: KV %q", got)
	}
	hooks.UserHasJoinedChannel(&plugin.Context{}, member, &model.User{Id: "rootrootrootrootrootrootro", Username: "root"})
	if got := string(api.kvValue("joined")); got != adaID+" by root\x00\xff" {
		t.Fatalf("UserHasJoinedChannel with an actor: KV %q", got)
	}
}

// serveHTTP drives the plugin's ServeHTTP as the server does (plugin_requests.go hands the
// hooks its ResponseWriter and the request with /plugins/<id> stripped).
func serveHTTP(t *testing.T, hooks plugin.Hooks) {
	t.Helper()
	// A GET: status, headers (the server's own kept, the plugin's set over them, names
	// canonical, multi-valued), the request's URL, headers and context reaching Python, a flush.
	w := httptest.NewRecorder()
	w.Header().Set("X-Server-Set", "kept")
	r := httptest.NewRequest("GET", "/hello?x=1", nil)
	r.Header.Set("X-Hello", "hi there")
	start := time.Now()
	hooks.ServeHTTP(&plugin.Context{RequestId: "req-http"}, w, r)
	t.Logf("ServeHTTP GET in %v", time.Since(start))
	if w.Code != http.StatusCreated {
		t.Fatalf("ServeHTTP GET: %d %q", w.Code, w.Body.String())
	}
	if want := "served by python: /hello?x=1 hi there req-http (and more)"; w.Body.String() != want {
		t.Fatalf("ServeHTTP GET body %q, want %q", w.Body.String(), want)
	}
	h := w.Result().Header
	if h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Server-Set") != "kept" ||
		strings.Join(h.Values("X-Multi"), ",") != "one,two" || w.Flushed != writerFlushes {
		t.Fatalf("ServeHTTP GET head: %v (flushed %v)", h, w.Flushed)
	}

	// A POST with a 1 MiB body the plugin echoes back: streamed both ways, exact bytes.
	body := make([]byte, 1<<20)
	for i := range body {
		body[i] = byte(i*7 + i/251)
	}
	w = httptest.NewRecorder()
	r = httptest.NewRequest("POST", "/echo", bytes.NewReader(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	start = time.Now()
	hooks.ServeHTTP(&plugin.Context{}, w, r)
	t.Logf("ServeHTTP POST echo of 1 MiB in %v", time.Since(start))
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), body) {
		t.Fatalf("ServeHTTP POST: %d, %d bytes back (equal: %v)", w.Code, w.Body.Len(), bytes.Equal(w.Body.Bytes(), body))
	}
	if w.Header().Get("Content-Type") != "application/octet-stream" || w.Header().Get("X-Content-Length-In") != strconv.Itoa(len(body)) {
		t.Fatalf("ServeHTTP POST head: %v", w.Header())
	}

	// An answer that does not read the request body (1 MiB left unread), ten at once.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	start = time.Now()
	for i := range 10 {
		wg.Go(func() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("PUT", fmt.Sprintf("/hello?n=%d", i), bytes.NewReader(body))
			hooks.ServeHTTP(&plugin.Context{}, w, r)
			if want := fmt.Sprintf("served by python: /hello?n=%d None  (and more)", i); w.Code != http.StatusCreated || w.Body.String() != want {
				errs <- fmt.Errorf("concurrent PUT %d: %d %q", i, w.Code, w.Body.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("10 concurrent ServeHTTP with unread bodies in %v", time.Since(start))

	// A status net/http would refuse: sent as 500, as the contract says.
	w = httptest.NewRecorder()
	hooks.ServeHTTP(&plugin.Context{}, w, httptest.NewRequest("GET", "/bad-status", nil))
	if w.Code != http.StatusInternalServerError || w.Body.String() != "no such status" {
		t.Fatalf("ServeHTTP bad status: %d %q", w.Code, w.Body.String())
	}

	// Empty bodies both ways.
	w = httptest.NewRecorder()
	hooks.ServeHTTP(&plugin.Context{}, w, httptest.NewRequest("POST", "/echo", nil))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("ServeHTTP empty POST: %d %q", w.Code, w.Body.String())
	}
}

// A plugin without serve_http / serve_metrics: the server answers 404 itself.
func TestPluginWithoutServeHTTP(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(`from mattermost_plugin import Plugin, hook, run_plugin


class Quiet(Plugin):
    @hook
    def on_activate(self) -> None:
        pass


run_plugin(Quiet)
`), 0o644))
	env := environment(t, &fakeAPI{}, pluginDir)
	if _, activated, err := env.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	defer env.Shutdown()
	hooks, err := env.HooksForPlugin(pluginID)
	must(t, err)
	w := httptest.NewRecorder()
	hooks.ServeHTTP(&plugin.Context{}, w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("ServeHTTP: %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	hooks.ServeMetrics(&plugin.Context{}, w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("ServeMetrics: %d %q", w.Code, w.Body.String())
	}
}

func TestOnActivateErrorFailsActivation(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "refuse"), nil, 0o644))
	api := &fakeAPI{}
	env := environment(t, api, pluginDir)
	_, activated, err := env.Activate(pluginID)
	if err == nil || activated {
		t.Fatalf("Activate succeeded (activated=%v)", activated)
	}
	if !strings.Contains(err.Error(), "refusing to activate: no configuration") {
		t.Fatalf("the plugin's error is not in the activation error: %v", err)
	}
	waitGone(t, readPid(t, dir), 3*time.Second, "the Python child of a failed activation")
	env.Shutdown()
}

// A plugin that cannot start fails activation promptly, and the shim leaves nothing behind.
func TestBrokenPythonFailsActivation(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte("this is not python\n"), 0o644))
	env := environment(t, &fakeAPI{}, pluginDir)
	start := time.Now()
	_, activated, err := env.Activate(pluginID)
	if err == nil || activated {
		t.Fatalf("Activate succeeded (activated=%v)", activated)
	}
	t.Logf("activation failed in %v: %v", time.Since(start), err)
	if time.Since(start) > 10*time.Second {
		t.Fatalf("activation took %v to fail", time.Since(start))
	}
	env.Shutdown()
}

// The Python child dies: the shim exits rather than carry on without it, so the server's
// health check sees the plugin gone (and restarts it, by Mattermost's policy).
func TestChildCrashEndsTheShim(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	env := environment(t, &fakeAPI{}, pluginDir)
	if _, activated, err := env.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: %v", err)
	}
	child, shim := readPid(t, dir), readShimPid(t, dir)
	must(t, syscall.Kill(child, syscall.SIGKILL))
	waitGone(t, shim, 3*time.Second, "the shim after its child was killed")
	if err := env.PerformHealthCheck(pluginID); err == nil {
		t.Fatal("the health check passed with the plugin gone")
	}
	env.Shutdown()
}

// The shim is SIGKILLed (the server's last resort): the child dies with it.
func TestKilledShimTakesItsChild(t *testing.T) {
	pluginDir, dir, tmp := bundle(t)
	env := environment(t, &fakeAPI{}, pluginDir)
	if _, activated, err := env.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: %v", err)
	}
	child, shim := readPid(t, dir), readShimPid(t, dir)
	must(t, syscall.Kill(shim, syscall.SIGKILL))
	waitGone(t, child, 3*time.Second, "the Python child of a killed shim")
	env.Shutdown()
	// Nothing can remove the sockets of a SIGKILLed process (a Go plugin's stays too).
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		must(t, os.RemoveAll(filepath.Join(tmp, e.Name())))
	}
}

func TestNotStartedByAServer(t *testing.T) {
	shim := os.Getenv("SHIM_PYTHON_SHIM")
	if shim == "" {
		t.Skip("SHIM_PYTHON_SHIM is not set")
	}
	out, err := execOutput(shim)
	if err == nil || !strings.Contains(out, "This binary is a plugin") {
		t.Fatalf("expected go-plugin's refusal, got err=%v output=%q", err, out)
	}
}

func execOutput(bin string) (string, error) {
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
