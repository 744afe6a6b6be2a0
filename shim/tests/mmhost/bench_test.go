package mmhost

// The shim's benchmarks: a Python plugin through mm-python-shim beside a native Go plugin
// doing the same work (refplugin/), both loaded by Mattermost's own plugin.NewEnvironment in
// one run, measured interleaved round by round.
//
// `cargo xtask bench` runs it with SHIM_BENCH=full (release shim) and prints the table;
// under `cargo test` it is a smoke run with a few calls each, whose figures mean nothing but
// whose answers and memory bound are checked.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

const (
	refPluginID  = "com.example.shimref"
	rustPluginID = "com.example.shimrust"
)

// The Rust plugin's bundle: a shim bundle whose Python entry becomes the Rust bench plugin
// (bench-plugin/), so the shim's own cost shows without Python's gRPC hop.
const rustPluginPy = `import os

PLUGIN = %q
os.execv(PLUGIN, [PLUGIN])
`

// The Python side of the benchmark: the same answers as refplugin/main.go.
const benchPluginPy = `import dataclasses
import os

from mattermost_plugin import HTTPRequest, Plugin, ResponseWriter, hook, run_plugin
from mattermost_plugin_api import models

HERE = os.path.dirname(os.path.abspath(__file__))


class Bench(Plugin):
    @hook
    def on_activate(self) -> None:
        with open(os.path.join(HERE, "pid"), "w") as f:
            f.write(str(os.getpid()))
        with open(os.path.join(HERE, "ppid"), "w") as f:
            f.write(str(os.getppid()))

    @hook
    def message_will_be_posted(self, post: models.Post) -> tuple[models.Post | None, str]:
        return dataclasses.replace(post, message=post.message + " ok"), ""

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        fields = args.command.split()
        if len(fields) == 2 and fields[0] == "/getuser":
            for _ in range(int(fields[1])):
                self.api.get_user(user_id=args.user_id)
            return models.CommandResponse(text="done")
        return models.CommandResponse(text=str(os.getpid()))

    @hook
    async def serve_http(self, request: HTTPRequest, response: ResponseWriter) -> None:
        if request.method == "POST":
            n = 0
            async for chunk in request.body:
                n += len(chunk)
            await response.write(str(n).encode())
            return
        size = int(request.url.partition("size=")[2] or 0)
        response.headers["Content-Type"] = ["application/octet-stream"]
        block = bytes(65536)
        while size > 0:
            await response.write(block[: min(size, len(block))])
            size -= len(block)


run_plugin(Bench)
`

type benchSizes struct {
	rounds     int
	hookCalls  int   // MessageWillBePosted calls per round and plugin
	apiSamples int   // ExecuteCommand samples per round and plugin ...
	apiPerCall int   // ... each making this many GetUser calls
	httpBytes  int64 // one upload and one download of this size per round and plugin
}

var (
	smokeSizes = benchSizes{rounds: 2, hookCalls: 10, apiSamples: 2, apiPerCall: 5, httpBytes: 1 << 20}
	fullSizes  = benchSizes{rounds: 7, hookCalls: 300, apiSamples: 30, apiPerCall: 20, httpBytes: 64 << 20}
)

// Goals from the shim's issue: a hook or API round trip within 2x of a native plugin (native
// plus our gRPC hop); the shim's memory bounded while 64 MiB stream through it.
const (
	roundTripGoal  = 2.0
	shimGrowthGoal = 32 << 20
)

type benchFigure struct {
	Figure   string  `json:"figure"`
	Unit     string  `json:"unit"`
	Ours     float64 `json:"ours"`
	Baseline float64 `json:"baseline"`
	// OursP99/BaselineP99 for latencies; OursMin/OursMax the spread of per-round medians.
	OursP99     float64 `json:"ours_p99,omitempty"`
	BaselineP99 float64 `json:"baseline_p99,omitempty"`
	OursMin     float64 `json:"ours_min"`
	OursMax     float64 `json:"ours_max"`
	Ratio       float64 `json:"ratio"`
	Goal        string  `json:"goal"`
	Met         *bool   `json:"met,omitempty"`
}

// samples collects per-call figures and the median of each round.
type samples struct {
	all, roundMedians []float64
	current           []float64
}

func (s *samples) add(v float64) { s.current = append(s.current, v) }

func (s *samples) endRound() {
	s.all = append(s.all, s.current...)
	s.roundMedians = append(s.roundMedians, quantile(s.current, 0.5))
	s.current = nil
}

func quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// discardWriter is a ResponseWriter that counts the body and keeps its first bytes.
type discardWriter struct {
	header http.Header
	code   int
	n      int64
	head   []byte
}

func (w *discardWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += int64(len(b))
	if len(w.head) < 64 {
		w.head = append(w.head, b[:min(len(b), 64-len(w.head))]...)
	}
	return len(b), nil
}

func (w *discardWriter) Flush() {}

// patternReader yields bytes without holding a body in memory.
type patternReader struct{ i byte }

func (r *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = r.i
		r.i += 7
	}
	return len(b), nil
}

// memory reads a process's resident and peak resident set sizes (bytes).
func memory(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	field := func(name string) int64 {
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, name+":"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				must(t, err)
				return kb << 10
			}
		}
		t.Fatalf("no %s in /proc/%d/status", name, pid)
		return 0
	}
	return field("VmRSS"), field("VmHWM")
}

// installRefPlugin builds refplugin/ into <pluginDir>/<refPluginID>.
func installRefPlugin(t *testing.T, pluginDir string) {
	t.Helper()
	dir := filepath.Join(pluginDir, refPluginID)
	bin := filepath.Join(dir, "server", "dist", "plugin")
	build := exec.Command("go", "build", "-o", bin, "./refplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./refplugin: %v\n%s", err, out)
	}
	manifest := fmt.Sprintf(`{"id": %q, "name": "Shim reference", "version": "0.1.0",
  "server": {"executables": {"linux-amd64": "server/dist/plugin", "linux-arm64": "server/dist/plugin",
                             "darwin-amd64": "server/dist/plugin", "darwin-arm64": "server/dist/plugin"}}}`, refPluginID)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.json"), []byte(manifest), 0o644))
}

type benchSubject struct {
	name                        string
	hooks                       plugin.Hooks
	hook, api, upload, download samples
}

func TestShimBesideNativePlugin(t *testing.T) {
	sizes, full := smokeSizes, os.Getenv("SHIM_BENCH") == "full"
	if full {
		sizes = fullSizes
	}
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(benchPluginPy), 0o644))
	installRefPlugin(t, pluginDir)
	rustPlugin := os.Getenv("SHIM_RUST_BENCH_PLUGIN")
	if rustPlugin == "" {
		t.Fatal("SHIM_RUST_BENCH_PLUGIN is not set: run this through `cargo test -p mattermost-plugin-shim --test mattermost_host` or `cargo xtask bench`")
	}
	rustDir := addShimPlugin(t, pluginDir, map[string]any{"id": rustPluginID, "name": "Shim bench (Rust)", "version": "0.1.0"},
		os.Getenv("SHIM_PYTHON_SHIM"), os.Getenv("SHIM_TEST_VENV"))
	must(t, os.WriteFile(filepath.Join(rustDir, "plugin.py"), []byte(fmt.Sprintf(rustPluginPy, rustPlugin)), 0o644))
	api := &fakeAPI{}
	env := environment(t, api, pluginDir)
	defer env.Shutdown()

	ids := []string{pluginID, refPluginID, rustPluginID}
	subjects := make([]*benchSubject, 0, len(ids))
	pids := map[string]int{}
	for _, id := range ids {
		if _, activated, err := env.Activate(id); err != nil || !activated {
			t.Fatalf("Activate %s: activated=%v err=%v", id, activated, err)
		}
		hooks, err := env.HooksForPlugin(id)
		must(t, err)
		resp, appErr := hooks.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/pid"})
		if appErr != nil {
			t.Fatalf("%s /pid: %v", id, appErr)
		}
		pid, err := strconv.Atoi(resp.Text)
		must(t, err)
		pids[id] = pid
		subjects = append(subjects, &benchSubject{name: id, hooks: hooks})
	}
	shimPid := readShimPid(t, dir)
	shimRSS, _ := memory(t, shimPid)
	childRSS, _ := memory(t, pids[pluginID])
	nativeRSS, _ := memory(t, pids[refPluginID])

	message := strings.Repeat("m", 1024)
	for round := range sizes.rounds {
		// Rotate which plugin goes first so none always runs on a warmer machine.
		first := round % len(subjects)
		order := append(slices.Clone(subjects[first:]), subjects[:first]...)
		for _, s := range order {
			for range sizes.hookCalls {
				post := &model.Post{Id: model.NewId(), UserId: adaID, ChannelId: model.NewId(), Message: message}
				start := time.Now()
				got, reason := s.hooks.MessageWillBePosted(&plugin.Context{}, post)
				s.hook.add(float64(time.Since(start).Microseconds()))
				if got == nil || reason != "" || got.Message != message+" ok" || got.Id != post.Id {
					t.Fatalf("%s MessageWillBePosted: %+v %q", s.name, got, reason)
				}
			}
			s.hook.endRound()
			for range sizes.apiSamples {
				args := &model.CommandArgs{Command: fmt.Sprintf("/getuser %d", sizes.apiPerCall), UserId: adaID}
				start := time.Now()
				resp, appErr := s.hooks.ExecuteCommand(&plugin.Context{}, args)
				s.api.add(float64(time.Since(start).Microseconds()) / float64(sizes.apiPerCall))
				if appErr != nil || resp == nil || resp.Text != "done" {
					t.Fatalf("%s GetUser loop: %+v %v", s.name, resp, appErr)
				}
			}
			s.api.endRound()

			w := &discardWriter{}
			r := httptest.NewRequest("POST", "/upload", io.LimitReader(&patternReader{}, sizes.httpBytes))
			start := time.Now()
			s.hooks.ServeHTTP(&plugin.Context{}, w, r)
			s.upload.add(float64(sizes.httpBytes) / time.Since(start).Seconds() / 1e6)
			if w.code != http.StatusOK || string(w.head) != strconv.FormatInt(sizes.httpBytes, 10) {
				t.Fatalf("%s upload: %d %q", s.name, w.code, w.head)
			}
			s.upload.endRound()

			w = &discardWriter{}
			r = httptest.NewRequest("GET", fmt.Sprintf("/download?size=%d", sizes.httpBytes), nil)
			start = time.Now()
			s.hooks.ServeHTTP(&plugin.Context{}, w, r)
			s.download.add(float64(sizes.httpBytes) / time.Since(start).Seconds() / 1e6)
			if w.code != http.StatusOK || w.n != sizes.httpBytes {
				t.Fatalf("%s download: %d, %d bytes", s.name, w.code, w.n)
			}
			s.download.endRound()
		}
	}
	_, shimHWM := memory(t, shimPid)
	_, childHWM := memory(t, pids[pluginID])
	_, nativeHWM := memory(t, pids[refPluginID])

	ours, native, rust := subjects[0], subjects[1], subjects[2]
	latency := func(figure string, o, b *samples) benchFigure {
		f := benchFigure{
			Figure: figure, Unit: "µs",
			Ours: quantile(o.all, 0.5), Baseline: quantile(b.all, 0.5),
			OursP99: quantile(o.all, 0.99), BaselineP99: quantile(b.all, 0.99),
			OursMin: slices.Min(o.roundMedians), OursMax: slices.Max(o.roundMedians),
			Goal: fmt.Sprintf("≤ %.0f×", roundTripGoal),
		}
		f.Ratio = f.Ours / f.Baseline
		met := f.Ratio <= roundTripGoal
		f.Met = &met
		return f
	}
	throughput := func(figure string, o, b *samples) benchFigure {
		f := benchFigure{
			Figure: figure, Unit: "MB/s",
			Ours: quantile(o.roundMedians, 0.5), Baseline: quantile(b.roundMedians, 0.5),
			OursMin: slices.Min(o.roundMedians), OursMax: slices.Max(o.roundMedians),
			Goal: "reported",
		}
		f.Ratio = f.Ours / f.Baseline
		return f
	}
	growthMet := shimHWM-shimRSS <= shimGrowthGoal
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	figures := []benchFigure{
		latency("hook round trip MessageWillBePosted (1 KB post), Python via shim vs native Go", &ours.hook, &native.hook),
		latency("API round trip GetUser, Python via shim vs native Go", &ours.api, &native.api),
		throughput(fmt.Sprintf("ServeHTTP upload %d MiB, Python via shim vs native Go", sizes.httpBytes>>20), &ours.upload, &native.upload),
		throughput(fmt.Sprintf("ServeHTTP download %d MiB, Python via shim vs native Go", sizes.httpBytes>>20), &ours.download, &native.download),
		latency("hook round trip MessageWillBePosted (1 KB post), Rust plugin via shim vs native Go", &rust.hook, &native.hook),
		latency("API round trip GetUser, Rust plugin via shim vs native Go", &rust.api, &native.api),
		throughput(fmt.Sprintf("ServeHTTP upload %d MiB, Rust plugin via shim vs native Go", sizes.httpBytes>>20), &rust.upload, &native.upload),
		throughput(fmt.Sprintf("ServeHTTP download %d MiB, Rust plugin via shim vs native Go", sizes.httpBytes>>20), &rust.download, &native.download),
		{
			Figure: "shim peak RSS growth over the run (Python child's; native plugin's as baseline)", Unit: "MiB",
			Ours: mib(shimHWM - shimRSS), Baseline: mib(nativeHWM - nativeRSS),
			OursMin: mib(shimHWM - shimRSS), OursMax: mib(shimHWM - shimRSS),
			Goal: fmt.Sprintf("shim ≤ %d MiB", shimGrowthGoal>>20), Met: &growthMet,
			Ratio: (mib(shimHWM - shimRSS)) / max(mib(nativeHWM-nativeRSS), 1),
		},
	}

	if full {
		fmt.Printf("\nshim benchmarks: %d rounds; %d hook calls, %d×%d GetUser, %d MiB up and down per round and plugin\n",
			sizes.rounds, sizes.hookCalls, sizes.apiSamples, sizes.apiPerCall, sizes.httpBytes>>20)
	} else {
		fmt.Println("\nshim benchmarks, smoke run (a few calls each: the figures mean nothing; `cargo xtask bench` measures)")
	}
	fmt.Println("| figure | ours (p50 / p99, rounds min–max) | native Go (p50 / p99) | ratio | goal | met |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, f := range figures {
		met := "—"
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "no"}[*f.Met]
		}
		if f.OursP99 != 0 {
			fmt.Printf("| %s | %.0f / %.0f %s (%.0f–%.0f) | %.0f / %.0f %s | %.2f× | %s | %s |\n",
				f.Figure, f.Ours, f.OursP99, f.Unit, f.OursMin, f.OursMax, f.Baseline, f.BaselineP99, f.Unit, f.Ratio, f.Goal, met)
		} else {
			fmt.Printf("| %s | %.1f %s (%.1f–%.1f) | %.1f %s | %.2f× | %s | %s |\n",
				f.Figure, f.Ours, f.Unit, f.OursMin, f.OursMax, f.Baseline, f.Unit, f.Ratio, f.Goal, met)
		}
	}
	fmt.Printf("Python child peak RSS growth: %.1f MiB (resident %.1f MiB at start); shim resident at start %.1f MiB; native plugin %.1f MiB\n",
		mib(childHWM-childRSS), mib(childRSS), mib(shimRSS), mib(nativeRSS))
	if out := os.Getenv("SHIM_BENCH_OUT"); out != "" {
		data, err := json.MarshalIndent(figures, "", "  ")
		must(t, err)
		must(t, os.WriteFile(out, data, 0o644))
	}

	// Memory is a bound, not a timing: checked in every run.
	if !growthMet {
		t.Errorf("the shim's peak RSS grew by %.1f MiB while %d MiB streamed through it (bound %d MiB)",
			mib(shimHWM-shimRSS), sizes.httpBytes>>20, shimGrowthGoal>>20)
	}
	for _, id := range ids {
		if !env.Deactivate(id) {
			t.Fatalf("Deactivate %s", id)
		}
	}
}
