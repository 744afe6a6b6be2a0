package shimtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/yamux"
)

// Mattermost's handshake (server/public/plugin/api.go).
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "MATTERMOST_PLUGIN",
	MagicCookieValue: "Securely message teams, anywhere.",
}

type Nested struct {
	Name  string
	Count int64
}

// EchoArgs mirrors the Rust struct in shim/test-plugin/main.rs.
type EchoArgs struct {
	Text     string
	Number   int64
	Small    int32
	Unsigned uint32
	Negative int
	Flag     bool
	Ratio    float64
	Blob     []byte
	Tags     []string
	Labels   map[string]string
	Inner    Nested
	Ptr      *Nested
	NilPtr   *Nested
	List     []Nested
}

type CallBackArgs struct {
	MuxId uint32
	Name  string
}

type GreetArgs struct{ Name string }
type GreetReply struct{ Message string }

type LogArgs struct{ Stdout, Stderr string }

// apiServer is what the host serves on a broker stream the plugin dials (like Mattermost's
// API stream); registered as "Plugin".
type apiServer struct{}

func (apiServer) Greet(args GreetArgs, reply *GreetReply) error {
	reply.Message = "hello, " + args.Name
	return nil
}

// hooksPlugin is the host half of the "hooks" plugin: like Mattermost's, its client wraps the
// *rpc.Client of the dispensed stream and keeps the broker.
type hooksPlugin struct{}

type hooksClient struct {
	broker *plugin.MuxBroker
	client *rpc.Client
}

func (hooksPlugin) Server(*plugin.MuxBroker) (interface{}, error) {
	return nil, errors.New("the plugin side is the Rust shim")
}

func (hooksPlugin) Client(b *plugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return &hooksClient{broker: b, client: c}, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sampleEcho(i int) EchoArgs {
	return EchoArgs{
		Text:     fmt.Sprintf("héllo %d ✓", i),
		Number:   1 << 40,
		Small:    -12345,
		Unsigned: 4000000000,
		Negative: -7 - i,
		Flag:     true,
		Ratio:    3.25,
		Blob:     []byte{0, 1, 2, 255},
		Tags:     []string{"a", "", "c"},
		Labels:   map[string]string{"k": "v", "empty": ""},
		Inner:    Nested{Name: "inner", Count: int64(i)},
		Ptr:      &Nested{Name: "pointed", Count: -1},
		List:     []Nested{{Name: "x", Count: 1}, {}, {Name: "z"}},
	}
}

// The whole life of a plugin under go-plugin's real host: NewClient with net/rpc (what
// Mattermost's supervisor does), Dispense("hooks"), calls, broker streams both ways, stdout and
// stderr streams, then Kill (Control.Quit) and a clean exit.
func TestGoPluginHost(t *testing.T) {
	sockDir := t.TempDir()
	var stdout, stderr syncBuffer
	cmd := exec.Command(pluginBinary(t))
	cmd.Env = []string{"TMPDIR=" + sockDir, "RUST_BACKTRACE=1"}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          map[string]plugin.Plugin{"hooks": &hooksPlugin{}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolNetRPC},
		SyncStdout:       &stdout,
		SyncStderr:       &stderr,
		StartTimeout:     3 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "host", Output: os.Stderr, Level: hclog.Info,
		}),
	})
	defer client.Kill()

	start := time.Now()
	rpcClient, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin: %v", err)
	}
	t.Logf("handshake + connection in %v", time.Since(start))
	if client.Protocol() != plugin.ProtocolNetRPC || client.NegotiatedVersion() != 1 {
		t.Fatalf("protocol %v version %d", client.Protocol(), client.NegotiatedVersion())
	}
	sock := client.ReattachConfig().Addr.String()
	if !strings.HasPrefix(sock, sockDir+"/plugin") {
		t.Fatalf("socket %q is not in TMPDIR %q", sock, sockDir)
	}

	if err := rpcClient.Ping(); err != nil {
		t.Fatalf("Control.Ping: %v", err)
	}
	raw, err := rpcClient.Dispense("hooks")
	if err != nil {
		t.Fatalf("Dispense: %v", err)
	}
	hooks := raw.(*hooksClient)
	if _, err := rpcClient.Dispense("nope"); err == nil || !strings.Contains(err.Error(), "unknown plugin type: nope") {
		t.Fatalf("Dispense of an unknown type: %v", err)
	}

	t.Run("echo", func(t *testing.T) {
		for i := 0; i < 3; i++ { // several calls: type definitions are sent once per stream
			args := sampleEcho(i)
			var reply EchoArgs
			if err := hooks.client.Call("Plugin.Echo", args, &reply); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(reply, args) {
				t.Fatalf("echo differs:\n got %#v\nwant %#v", reply, args)
			}
		}
		// Zero values are omitted on the wire and must come back as zero values.
		var zero EchoArgs
		if err := hooks.client.Call("Plugin.Echo", EchoArgs{}, &zero); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(zero, EchoArgs{}) {
			t.Fatalf("zero echo: %#v", zero)
		}
	})

	t.Run("errors", func(t *testing.T) {
		var empty struct{}
		err := hooks.client.Call("Plugin.Fail", "it went wrong", &empty)
		if se, ok := err.(rpc.ServerError); !ok || string(se) != "it went wrong" {
			t.Fatalf("Plugin.Fail: %#v", err)
		}
		err = hooks.client.Call("Plugin.Missing", true, &empty)
		if err == nil || err.Error() != "rpc: can't find method Plugin.Missing" {
			t.Fatalf("missing method: %v", err)
		}
		err = hooks.client.Call("Nope.Missing", true, &empty)
		if err == nil || err.Error() != "rpc: can't find service Nope.Missing" {
			t.Fatalf("missing service: %v", err)
		}
		// A wrong argument type is an error reply; the stream stays usable.
		var n uint64
		if err := hooks.client.Call("Plugin.Delay", "not a number", &n); err == nil {
			t.Fatal("a string for a uint64 was accepted")
		}
		if err := hooks.client.Call("Plugin.Delay", uint64(1), &n); err != nil || n != 1 {
			t.Fatalf("after a bad call: %v %d", err, n)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		// 20 calls of 300 ms each on one stream: served concurrently, replies matched by Seq.
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 20; i++ {
			wg.Add(2)
			go func(i int) {
				defer wg.Done()
				var got uint64
				want := uint64(300 + i)
				if err := hooks.client.Call("Plugin.Delay", want, &got); err != nil || got != want {
					errs <- fmt.Errorf("Delay(%d) = %d, %v", want, got, err)
				}
			}(i)
			go func(i int) {
				defer wg.Done()
				args := sampleEcho(100 + i)
				var reply EchoArgs
				if err := hooks.client.Call("Plugin.Echo", args, &reply); err != nil || !reflect.DeepEqual(reply, args) {
					errs <- fmt.Errorf("concurrent echo %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("20 concurrent 300 ms calls took %v: not concurrent", d)
		}
	})

	t.Run("broker, plugin dials", func(t *testing.T) {
		// Like OnActivate's API stream: the host accepts an id, the plugin dials it and calls.
		id := hooks.broker.NextId()
		go hooks.broker.AcceptAndServe(id, apiServer{})
		var reply string
		if err := hooks.client.Call("Plugin.CallBack", CallBackArgs{MuxId: id, Name: "shim"}, &reply); err != nil {
			t.Fatal(err)
		}
		if reply != "hello, shim | hello, shim!" {
			t.Fatalf("CallBack: %q", reply)
		}
	})

	t.Run("broker, host dials", func(t *testing.T) {
		// Like InstallPlugin/UploadData: the plugin accepts an id, the host dials it.
		var id uint32
		if err := hooks.client.Call("Plugin.OpenUpper", struct{}{}, &id); err != nil {
			t.Fatal(err)
		}
		conn, err := hooks.broker.Dial(id)
		if err != nil {
			t.Fatalf("dialing broker id %d: %v", id, err)
		}
		upper := rpc.NewClient(conn)
		defer upper.Close()
		var out string
		if err := upper.Call("Plugin.Upper", "shout", &out); err != nil || out != "SHOUT" {
			t.Fatalf("Upper: %q %v", out, err)
		}
	})

	t.Run("stdout and stderr streams", func(t *testing.T) {
		var empty struct{}
		if err := hooks.client.Call("Plugin.Log", LogArgs{Stdout: "to stdout", Stderr: "to stderr"}, &empty); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "stdout lines", func() bool {
			s := stdout.String()
			return strings.Contains(s, "test plugin started\n") && strings.Contains(s, "to stdout\n")
		})
		waitFor(t, "stderr line", func() bool { return strings.Contains(stderr.String(), "to stderr\n") })
	})

	// Quit: go-plugin's Kill calls Control.Quit, closes the session and waits 2 s before SIGKILL.
	pid := cmd.Process.Pid
	start = time.Now()
	client.Kill()
	took := time.Since(start)
	if !client.Exited() {
		t.Fatal("plugin process still running after Kill")
	}
	if st := cmd.ProcessState; st == nil || !st.Success() {
		t.Fatalf("plugin did not exit cleanly after Quit: %v", cmd.ProcessState)
	}
	if took > 1900*time.Millisecond {
		t.Fatalf("Kill took %v: the plugin did not leave after Quit", took)
	}
	t.Logf("Kill (Quit → exit) in %v", took)
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("process %d still exists", pid)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("socket %s left behind: %v", sock, err)
	}
	if ents, _ := os.ReadDir(sockDir); len(ents) != 0 {
		t.Fatalf("files left in the socket dir: %v", ents)
	}
}

// go-plugin's host always uses hashicorp's default yamux config (75 s open timeout, 30 s
// keepalive), too slow for a test. This host speaks the same protocol by hand with short
// timeouts: the control, stdout and stderr streams must be ACKed while the plugin writes
// nothing on them, and pings answered across several intervals.
func TestPluginSessionWithShortTimeouts(t *testing.T) {
	cmd := exec.Command(pluginBinary(t))
	cmd.Env = []string{
		"TMPDIR=" + t.TempDir(),
		handshake.MagicCookieKey + "=" + handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=1",
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("handshake line after %v", d)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) != 6 || parts[0] != "1" || parts[1] != "1" || parts[2] != "unix" || parts[4] != "netrpc" || parts[5] != "" {
		t.Fatalf("handshake line %q", line)
	}
	conn, err := net.Dial("unix", parts[3])
	if err != nil {
		t.Fatal(err)
	}
	session, err := yamux.Client(conn, shortConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	var streams [3]net.Conn
	for i := range streams {
		if streams[i], err = session.Open(); err != nil {
			t.Fatal(err)
		}
	}
	control := rpc.NewClient(streams[0])
	// Past StreamOpenTimeout and several keepalive intervals with nothing on any stream.
	time.Sleep(1500 * time.Millisecond)
	if session.IsClosed() {
		t.Fatal("session closed: a stream was not ACKed or a ping not answered")
	}
	var empty struct{}
	if err := control.Call("Control.Ping", true, &empty); err != nil {
		t.Fatal(err)
	}
	var id uint32
	if err := control.Call("Dispenser.Dispense", "hooks", &id); err != nil || id != 1 {
		t.Fatalf("Dispense: %d %v", id, err)
	}
	// The broker by hand: open a stream, write the id, read the ack.
	hooksConn, err := session.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(hooksConn, binary.LittleEndian, id); err != nil {
		t.Fatal(err)
	}
	var ack uint32
	if err := binary.Read(hooksConn, binary.LittleEndian, &ack); err != nil || ack != id {
		t.Fatalf("broker ack %d %v", ack, err)
	}
	hooks := rpc.NewClient(hooksConn)
	args := sampleEcho(7)
	var reply EchoArgs
	if err := hooks.Call("Plugin.Echo", args, &reply); err != nil || !reflect.DeepEqual(reply, args) {
		t.Fatalf("Echo: %v", err)
	}
	// A broker stream nobody accepts is closed after go-plugin's 5 s; an accept that gets no
	// stream fails after 5 s too — both covered by the Rust unit tests with short timeouts.
	time.Sleep(1 * time.Second)
	if err := control.Call("Control.Ping", true, &empty); err != nil {
		t.Fatalf("Ping after idle: %v", err)
	}
	stdout, _ := io.ReadAll(io.LimitReader(streams[1], int64(len("test plugin started\n"))))
	if string(stdout) != "test plugin started\n" {
		t.Fatalf("stdout stream: %q", stdout)
	}
	if err := control.Call("Control.Quit", true, &empty); err != nil {
		t.Fatal(err)
	}
	_ = session.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("plugin exit: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("plugin did not exit within 2 s of Quit")
	}
}

// Started by hand (no magic cookie), the plugin says so and exits 1, like a Go plugin.
func TestNotStartedByAHost(t *testing.T) {
	cmd := exec.Command(pluginBinary(t))
	cmd.Env = []string{}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	if !strings.HasPrefix(stderr.String(), "This binary is a plugin.") {
		t.Fatalf("stderr: %q", stderr.String())
	}
}
