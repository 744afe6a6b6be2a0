package shimtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// shortConfig is hashicorp's DefaultConfig with the timeouts that kill a session shortened, so
// a missing ACK or an unanswered keepalive fails within about a second instead of 75 s / 40 s.
func shortConfig() *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.StreamOpenTimeout = time.Second
	cfg.KeepAliveInterval = 200 * time.Millisecond
	cfg.ConnectionWriteTimeout = time.Second // also the pong deadline
	cfg.LogOutput = os.Stderr
	return cfg
}

// startPeer runs the Rust test plugin as a bare yamux server and connects a hashicorp client.
func startPeer(t *testing.T) *yamux.Session {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "peer.sock")
	cmd := exec.Command(pluginBinary(t), "yamux-peer", sock)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("peer did not start: %q %v", line, err)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	session, err := yamux.Client(conn, shortConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.Close() })
	return session
}

func open(t *testing.T, s *yamux.Session, cmd byte) *yamux.Stream {
	t.Helper()
	st, err := s.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if cmd != 0 {
		if _, err := st.Write([]byte{cmd}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// echo writes payload (in one Write: hashicorp sends up to a whole window per frame), half-
// closes and checks that exactly payload comes back.
func echo(t *testing.T, st *yamux.Stream, payload []byte) error {
	errCh := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		if err == nil {
			err = st.Close()
		}
		errCh <- err
	}()
	got, err := io.ReadAll(st)
	if err != nil {
		return fmt.Errorf("reading echo: %w", err)
	}
	if err := <-errCh; err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo differs: got %d bytes, want %d", len(got), len(payload))
	}
	return nil
}

// Streams the host opens and never writes to (go-plugin's stdout/stderr) must be ACKed at
// once, and pings answered while nothing else happens.
func TestYamuxAckAndKeepalive(t *testing.T) {
	s := startPeer(t)
	var idle []*yamux.Stream
	for i := 0; i < 3; i++ {
		idle = append(idle, open(t, s, 0))
	}
	// Past StreamOpenTimeout and ~7 keepalive intervals.
	time.Sleep(1500 * time.Millisecond)
	if s.IsClosed() {
		t.Fatal("session closed while idle: a stream was not ACKed or a ping not answered")
	}
	for _, st := range idle {
		if _, err := st.Write([]byte{'E'}); err != nil {
			t.Fatal(err)
		}
		if err := echo(t, st, []byte("still here")); err != nil {
			t.Fatal(err)
		}
	}
	rtt, err := s.Ping()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ping rtt %v", rtt)
}

// Large writes: hashicorp sends whole windows per frame; the Rust side must keep every stream
// window at 256 KiB (rust-yamux refuses frames over 1 MiB) and send window updates.
func TestYamuxLargeTransfers(t *testing.T) {
	s := startPeer(t)
	big := make([]byte, 32<<20)
	_, _ = rand.Read(big)
	start := time.Now()
	if err := echo(t, open(t, s, 'E'), big); err != nil {
		t.Fatal(err)
	}
	t.Logf("32 MiB echo in %v", time.Since(start))

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			payload := make([]byte, (1<<20)+i*4099)
			_, _ = rand.Read(payload)
			errs <- echo(t, open(t, s, 'E'), payload)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.IsClosed() {
		t.Fatal("session closed")
	}
}

// A stream the application does not read for a while must not hold up the others, nor the
// pongs (tokio-yamux fails exactly this).
func TestYamuxStalledStreamDoesNotBlockSession(t *testing.T) {
	s := startPeer(t)
	stalled := open(t, s, 'S')
	var sent bytes.Buffer
	for i := 0; i < 300; i++ {
		chunk := []byte(fmt.Sprintf("small write %03d;", i))
		sent.Write(chunk)
		if _, err := stalled.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// While it stalls (2 s): other streams work and pings are answered.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := echo(t, open(t, s, 'E'), []byte("meanwhile")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s.IsClosed() {
		t.Fatal("session closed while one stream was stalled")
	}
	if err := stalled.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(stalled)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("stalled stream echoed %d bytes, want %d", len(got), sent.Len())
	}
}

// Streams the Rust side opens (even ids) arrive at hashicorp's Accept.
func TestYamuxRustOpensStreams(t *testing.T) {
	s := startPeer(t)
	const n = 20
	cmd := open(t, s, 'O')
	if err := binary.Write(cmd, binary.LittleEndian, uint32(n)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < n; i++ {
		st, err := s.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		if st.StreamID()%2 != 0 {
			t.Errorf("stream %d opened by the yamux server has an odd id", st.StreamID())
		}
		msg, err := io.ReadAll(st)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msg))
		_ = st.Close()
	}
	done, err := io.ReadAll(cmd)
	if err != nil || string(done) != "k" {
		t.Fatalf("command stream: %q %v", done, err)
	}
	sort.Strings(got)
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("hello %d", i))
	}
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v", got)
	}
}
